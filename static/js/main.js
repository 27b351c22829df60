// Wires the page together: pad -> predictor -> result view, buttons, shortcuts, language, and the
// Digit / Number switch (Number: a wide pad, /predict/number, static/js/number.js shows the answer).
import { DOT_EXTENT, DrawingPad } from './pad.js';
import { ExplainPanel } from './explain.js';
import { FeedbackPanel, NOT_A_DIGIT } from './feedback.js';
import { NumberView, isNumberReading } from './number.js';
import { Predictor } from './predictor.js';
import { ResultView } from './results.js';
import {
  LANGUAGES, initialLanguage, rememberLanguage, translatePage, translator,
} from './i18n.js';

const storage = (() => {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
})();

const $ = (id) => document.getElementById(id);
const canvas = $('pad');
const undoButton = $('undo');
const clearButton = $('clear');
const langSelect = $('lang');

const startLanguage = initialLanguage(storage, navigator.languages || [navigator.language]);
let t = translator(startLanguage);
const view = new ResultView($('result'), t);
const feedback = new FeedbackPanel($('feedback'), t);
const numberView = new NumberView($('result'), $('digit-boxes'), t);
const why = new ExplainPanel($('why'), { toggle: $('why-toggle'), bars: $('bars'), pad: canvas, t });
let sentImage = null; // the drawing of the newest /predict request: the answer is about it
let sentCanvas = null; // the same for /predict/number, as a canvas (the boxes are in its pixels)
const NUMBER_ASPECT = 5 / 2;
let mode = 'digit';

const predictor = new Predictor({
  getImage: () => (sentImage = pad.toDataURL()),
  onResult: (prediction) => {
    view.showResult(prediction);
    feedback.offer(prediction, sentImage);
    why.offer(prediction, sentImage);
  },
  onError: (error) => {
    view.showError(error);
    feedback.withdraw();
    why.withdraw();
  },
});

const numberPredictor = new Predictor({
  endpoint: 'predict/number',
  accept: isNumberReading,
  getImage: () => {
    sentCanvas = pad.toCanvas();
    return sentCanvas.toDataURL('image/png');
  },
  onResult: (reading) => numberView.showResult(reading, sentCanvas),
  onError: (error) => numberView.showError(error),
});

const pad = new DrawingPad(canvas, {
  onChange: updateControls,
  onStrokeEnd: () => {
    withdraw();
    predictDrawing();
  },
});

/** The view and predictor of the current mode. */
function active() {
  return mode === 'number' ? { shown: numberView, asker: numberPredictor } : { shown: view, asker: predictor };
}

function withdraw() {
  feedback.withdraw();
  why.withdraw();
  numberView.withdraw();
}

/** Asks the server about the drawing, unless it is only a dot (see DOT_EXTENT). */
function predictDrawing({ now = false } = {}) {
  const { shown, asker } = active();
  if (pad.extent < DOT_EXTENT) {
    asker.cancel();
    shown.showTooSmall();
    return;
  }
  shown.showPending();
  if (now) asker.now();
  else asker.schedule();
}

/** Digit (square pad, /predict) or Number (wide pad, /predict/number); the drawing is cleared. */
function setMode(next) {
  if (next === mode) return;
  predictor.cancel();
  numberPredictor.cancel();
  withdraw();
  mode = next;
  document.body.dataset.mode = mode;
  canvas.dataset.i18nAriaLabel = mode === 'number' ? 'padLabelNumber' : 'padLabel';
  $('pad-placeholder').dataset.i18n = mode === 'number' ? 'padPlaceholderNumber' : 'padPlaceholder';
  translatePage(document, t);
  pad.aspect = mode === 'number' ? NUMBER_ASPECT : 1;
  active().shown.showEmpty();
}

function updateControls() {
  const hasStrokes = pad.strokeCount > 0;
  undoButton.setAttribute('aria-disabled', String(!hasStrokes));
  clearButton.setAttribute('aria-disabled', String(pad.isEmpty));
  document.body.classList.toggle('has-drawing', !pad.isEmpty);
}

function undo() {
  if (!pad.undo()) return;
  withdraw();
  if (pad.isEmpty) {
    active().asker.cancel();
    active().shown.showEmpty();
  } else {
    predictDrawing();
  }
}

function clear() {
  pad.clear();
  active().asker.cancel();
  withdraw();
  active().shown.showEmpty();
}

function setLanguage(lang) {
  t = translator(lang);
  langSelect.value = lang;
  translatePage(document, t);
  view.setTranslator(t);
  feedback.setTranslator(t);
  numberView.setTranslator(t, { redraw: mode === 'number' }); // one view owns #status at a time
  why.setTranslator(t);
}

undoButton.addEventListener('click', undo);
clearButton.addEventListener('click', clear);
$('retry').addEventListener('click', () => {
  if (pad.isEmpty) return;
  predictDrawing({ now: true });
});

for (const radio of document.querySelectorAll('input[name="mode"]')) {
  radio.addEventListener('change', () => {
    if (radio.checked) setMode(radio.value === 'number' ? 'number' : 'digit');
  });
}

langSelect.addEventListener('change', () => {
  if (!LANGUAGES.includes(langSelect.value)) return;
  rememberLanguage(storage, langSelect.value);
  setLanguage(langSelect.value);
});

document.addEventListener('keydown', (event) => {
  const target = event.target;
  if (event.defaultPrevented || event.isComposing || event.altKey) return;
  if (target instanceof HTMLElement && (target.isContentEditable || target.closest('input:not([type=radio]), select, textarea'))) return;
  const key = event.key.toLowerCase();
  if (key === 'z' && (event.ctrlKey || event.metaKey) && !event.shiftKey) {
    event.preventDefault();
    undo();
  } else if ((key === 'c' || key === 'escape') && !event.ctrlKey && !event.metaKey) {
    event.preventDefault();
    clear();
  } else if (key === 'n' && !event.ctrlKey && !event.metaKey && feedback.choose(NOT_A_DIGIT)) {
    event.preventDefault();
  } else if (/^[0-9]$/.test(key) && !event.ctrlKey && !event.metaKey && feedback.choose(Number(key))) {
    event.preventDefault();
  }
});

// Apple keyboards say Cmd, not Ctrl.
const platform = navigator.userAgentData?.platform || navigator.platform || '';
if (/mac|iphone|ipad/i.test(platform)) $('undo-key').textContent = '⌘Z';

document.body.dataset.mode = mode;
setLanguage(startLanguage);
updateControls();
view.showEmpty();
document.documentElement.classList.add('js-ready');
