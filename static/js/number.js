// Number mode: the answer of /predict/number as the number, a card per digit (its 28x28 preview,
// confidence, verdict, a correction menu) and a box over each digit's strokes on the pad.
import { postFeedback } from './feedback.js';
import { PanelView } from './panel.js';

/** A well-formed /predict/number answer (anything else is shown as a bad response). */
export function isNumberReading(body) {
  const digits = body?.digits;
  return (typeof body?.number === 'string' || body?.number === null) && Array.isArray(digits) && digits.length > 0
    && Array.isArray(body.preview) && body.preview.length === digits.length
    && digits.every((d) => Number.isInteger(d?.digit) && d.digit >= 0 && d.digit <= 9
      && Number.isFinite(d?.confidence) && Array.isArray(d?.box) && d.box.length === 4 && d.box.every(Number.isFinite));
}

export class NumberView extends PanelView {
  #el;
  #offer = null; // {reading, canvas}: the answer and the exact image it was about
  #sent = new Map(); // digit index -> {label, state, message}
  #endpoint;

  /**
   * @param {HTMLElement} root the result panel; @param {HTMLElement} boxes the overlay on the pad;
   * @param {Function} t the translator
   */
  constructor(root, boxes, t, { endpoint = 'feedback' } = {}) {
    super(root, t);
    this.#endpoint = endpoint;
    const $ = (selector) => root.querySelector(selector);
    this.#el = {
      number: $('#number'),
      cards: $('#digit-cards'),
      feedbackStatus: $('#number-feedback-status'),
      boxes,
    };
  }

  /** The answer, and the canvas whose PNG was sent (its pixels are the boxes' coordinates). */
  showResult(reading, canvas) {
    this.#offer = { reading, canvas };
    this.#sent = new Map();
    this.show({ state: 'result', reading });
  }

  /** The drawing changed: boxes and corrections no longer match it. */
  withdraw() {
    this.#offer = null;
    this.#sent = new Map();
    this.#el.boxes.replaceChildren();
  }

  show(shown) {
    if (shown.state !== 'result') this.withdraw();
    super.show(shown);
  }

  statusText({ state, reading }, t) {
    return {
      empty: () => t('numberStatusEmpty'),
      'too-small': () => t('numberStatusTooSmall'),
      error: () => t('statusError'),
      result: () => {
        if (reading.number !== null) {
          const unsure = reading.digits.some((d) => d.verdict === 'unsure');
          return t(unsure ? 'numberStatusUnsure' : 'numberStatusResult', { number: reading.number });
        }
        const strangers = reading.digits.flatMap((d, i) => (d.verdict === 'not_a_digit' ? [i + 1] : []));
        return t('numberStatusNotDigit', { which: strangers.join(', ') });
      },
    }[state]();
  }

  draw({ reading }, t) {
    const el = this.#el;
    el.number.textContent = reading ? (reading.number ?? '–') : '';
    el.cards.replaceChildren(...(reading ? reading.digits.map((d, i) => this.#card(d, i, reading.preview[i], t)) : []));
    this.#drawBoxes(reading);
    const saved = [...this.#sent.entries()].filter(([, s]) => s.state !== 'sending').pop();
    el.feedbackStatus.textContent = !saved ? ''
      : saved[1].state === 'saved' ? t('numberFeedbackSaved', { index: saved[0] + 1, digit: saved[1].label })
        : t('feedbackFailed', { message: saved[1].message ?? t('errorNetwork') });
  }

  #card(entry, index, preview, t) {
    const li = document.createElement('li');
    li.className = `digit-card verdict-${entry.verdict ?? 'digit'}`;
    li.dataset.index = String(index);
    const img = document.createElement('img');
    img.className = 'card-preview';
    img.width = 28;
    img.height = 28;
    img.alt = t('cardPreviewAlt', { index: index + 1 });
    if (typeof preview === 'string' && preview.startsWith('data:image/')) img.src = preview;
    const digit = document.createElement('span');
    digit.className = 'card-digit';
    digit.textContent = entry.verdict === 'not_a_digit' ? '?' : String(entry.digit);
    const confidence = document.createElement('span');
    confidence.className = 'card-confidence';
    confidence.textContent = `${Math.round(entry.confidence * 100)}%`;
    const verdict = document.createElement('span');
    verdict.className = 'card-verdict';
    verdict.textContent = t({ unsure: 'verdictUnsure', not_a_digit: 'verdictNotDigit' }[entry.verdict] ?? 'verdictDigit');
    const label = document.createElement('label');
    label.className = 'card-correct';
    const caption = document.createElement('span');
    caption.className = 'visually-hidden';
    caption.textContent = t('correctLabel', { index: index + 1 });
    const select = document.createElement('select');
    select.className = 'card-select';
    const sent = this.#sent.get(index);
    select.append(new Option(t('correctPrompt'), ''), ...[...Array(10).keys()].map((d) => new Option(String(d), String(d))));
    select.value = sent ? String(sent.label) : '';
    select.disabled = Boolean(sent) && sent.state !== 'failed';
    select.addEventListener('change', () => {
      if (select.value !== '') this.#correct(index, Number(select.value));
    });
    label.append(caption, select);
    li.append(img, digit, confidence, verdict, label);
    return li;
  }

  #drawBoxes(reading) {
    const boxes = this.#el.boxes;
    const canvas = this.#offer?.canvas;
    if (!reading || !canvas) {
      boxes.replaceChildren();
      return;
    }
    // Boxes are in the sent image's pixels; the overlay is the pad, in percent of its size.
    boxes.replaceChildren(...reading.digits.map((d, i) => {
      const [x0, y0, x1, y1] = d.box;
      const box = document.createElement('span');
      box.className = `digit-box verdict-${d.verdict ?? 'digit'}`;
      box.style.left = `${(100 * x0) / canvas.width}%`;
      box.style.top = `${(100 * y0) / canvas.height}%`;
      box.style.width = `${(100 * (x1 - x0)) / canvas.width}%`;
      box.style.height = `${(100 * (y1 - y0)) / canvas.height}%`;
      box.dataset.index = String(i + 1);
      return box;
    }));
  }

  /** The user says digit `index` is `label`: that digit's part of the drawing goes to /feedback. */
  async #correct(index, label) {
    const offer = this.#offer;
    if (!offer) return;
    const entry = offer.reading.digits[index];
    const sent = { label, state: 'sending' };
    this.#sent.set(index, sent);
    Object.assign(sent, await postFeedback(this.#endpoint, {
      image: digitImage(offer.canvas, entry.box),
      label,
      predicted: entry.digit,
      confidence: entry.confidence,
      model: offer.reading.model,
    }));
    if (this.#offer === offer) this.redraw();
  }
}

/** One digit of the drawing as a PNG data URL: its box, with a margin, on white paper. */
function digitImage(canvas, [x0, y0, x1, y1]) {
  const margin = Math.round(0.15 * Math.max(x1 - x0, y1 - y0));
  const left = Math.max(0, x0 - margin);
  const top = Math.max(0, y0 - margin);
  const width = Math.min(canvas.width, x1 + margin) - left;
  const height = Math.min(canvas.height, y1 + margin) - top;
  const out = document.createElement('canvas');
  out.width = width;
  out.height = height;
  out.getContext('2d').drawImage(canvas, left, top, width, height, 0, 0, width, height);
  return out.toDataURL('image/png');
}
