// Wires the page together: pad -> predictor -> result view, buttons, shortcuts, language.
import { DOT_EXTENT, DrawingPad } from './pad.js';
import { ExplainPanel } from './explain.js';
import { FeedbackPanel, NOT_A_DIGIT } from './feedback.js';
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
const why = new ExplainPanel($('why'), { toggle: $('why-toggle'), bars: $('bars'), pad: canvas, t });
let sentImage = null; // the drawing of the newest /predict request: the answer is about it

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

const pad = new DrawingPad(canvas, {
  onChange: updateControls,
  onStrokeEnd: () => {
    feedback.withdraw();
    why.withdraw();
    predictDrawing();
  },
});

/** Asks the server about the drawing, unless it is only a dot (see DOT_EXTENT). */
function predictDrawing({ now = false } = {}) {
  if (pad.extent < DOT_EXTENT) {
    predictor.cancel();
    view.showTooSmall();
    return;
  }
  view.showPending();
  if (now) predictor.now();
  else predictor.schedule();
}

function updateControls() {
  const hasStrokes = pad.strokeCount > 0;
  undoButton.setAttribute('aria-disabled', String(!hasStrokes));
  clearButton.setAttribute('aria-disabled', String(pad.isEmpty));
  document.body.classList.toggle('has-drawing', !pad.isEmpty);
}

function undo() {
  if (!pad.undo()) return;
  feedback.withdraw();
  why.withdraw();
  if (pad.isEmpty) {
    predictor.cancel();
    view.showEmpty();
  } else {
    predictDrawing();
  }
}

function clear() {
  pad.clear();
  predictor.cancel();
  feedback.withdraw();
  why.withdraw();
  view.showEmpty();
}

function setLanguage(lang) {
  t = translator(lang);
  langSelect.value = lang;
  translatePage(document, t);
  view.setTranslator(t);
  feedback.setTranslator(t);
  why.setTranslator(t);
}

undoButton.addEventListener('click', undo);
clearButton.addEventListener('click', clear);
$('retry').addEventListener('click', () => {
  if (pad.isEmpty) return;
  predictDrawing({ now: true });
});

langSelect.addEventListener('change', () => {
  if (!LANGUAGES.includes(langSelect.value)) return;
  rememberLanguage(storage, langSelect.value);
  setLanguage(langSelect.value);
});

document.addEventListener('keydown', (event) => {
  const target = event.target;
  if (event.defaultPrevented || event.isComposing || event.altKey) return;
  if (target instanceof HTMLElement && (target.isContentEditable || target.closest('input, select, textarea'))) return;
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

setLanguage(startLanguage);
updateControls();
view.showEmpty();
document.documentElement.classList.add('js-ready');
