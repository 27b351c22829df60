// Digit mode's answer: the digit, its confidence and verdict, ten bars and the 28x28 preview
// (the panel's other states are panel.js).
import { PanelView } from './panel.js';

/** Below this probability the page says plainly that it is not sure (answers without a `verdict`). */
export const UNSURE_BELOW = 0.6;

/** The server's verdict, or the page's own rule for a server that sends none. */
export function verdictOf(prediction) {
  if (['digit', 'unsure', 'not_a_digit'].includes(prediction.verdict)) return prediction.verdict;
  return prediction.probabilities[prediction.digit] < UNSURE_BELOW ? 'unsure' : 'digit';
}

export class ResultView extends PanelView {
  #root;
  #el;
  #model = ''; // version of the model that gave the last answer

  /** @param {HTMLElement} root the result panel; @param {Function} t the translator */
  constructor(root, t) {
    super(root, t);
    this.#root = root;
    const $ = (selector) => root.querySelector(selector);
    this.#el = {
      digit: $('#digit'),
      confidence: $('#confidence'),
      preview: $('#preview'),
      model: $('#model-version'),
      bars: [...root.querySelectorAll('.bar')].sort((a, b) => a.dataset.digit - b.dataset.digit),
    };
  }

  showResult(prediction) {
    this.show({ state: 'result', prediction });
  }

  statusText({ state, prediction }, t) {
    return {
      empty: () => t('statusEmpty'),
      'too-small': () => t('statusTooSmall'),
      error: () => t('statusError'),
      result: () => {
        const verdict = verdictOf(prediction);
        if (verdict === 'not_a_digit') return t('statusNotDigit');
        const confidence = prediction.probabilities[prediction.digit];
        if (verdict === 'unsure') {
          const candidates = candidatesOf(prediction);
          return t('statusUnsure', {
            digit: prediction.digit, pct: percent(confidence), candidates: candidates.join(t('or')),
            second: candidates[1], pct2: percent(prediction.probabilities[candidates[1]]),
          });
        }
        return t('statusResult', { digit: prediction.digit, pct: percent(confidence) });
      },
    }[state]();
  }

  draw({ state, prediction }, t) {
    const el = this.#el;
    const verdict = state === 'result' ? verdictOf(prediction) : '';
    const unsure = verdict === 'unsure';
    const notDigit = verdict === 'not_a_digit';
    const confidence = prediction ? prediction.probabilities[prediction.digit] : 0;

    this.#root.dataset.verdict = verdict;
    this.#root.classList.toggle('is-unsure', unsure);
    this.#root.classList.toggle('is-not-digit', notDigit);

    // Not a digit: no number is shown at all, only the words.
    el.digit.textContent = prediction && !notDigit ? String(prediction.digit) : '';
    el.confidence.replaceChildren();
    if (prediction) {
      if (!notDigit) el.confidence.append(t('confidence', { pct: percent(confidence) }));
      if (unsure || notDigit) {
        const badge = document.createElement('span');
        badge.className = 'badge';
        badge.id = notDigit ? 'not-a-digit' : 'unsure';
        badge.textContent = notDigit ? t('notDigit') : t('unsure');
        if (!notDigit) el.confidence.append(' ');
        el.confidence.append(badge);
      }
    }

    el.bars.forEach((bar, digit) => {
      const p = prediction ? prediction.probabilities[digit] : 0;
      bar.classList.toggle('winner', Boolean(prediction) && digit === prediction.digit);
      bar.setAttribute('aria-label', t('barLabel', { digit }));
      bar.setAttribute('aria-valuenow', String(Math.round(p * 1000) / 10));
      bar.setAttribute('aria-valuetext', prediction ? percent(p) : '–');
      bar.querySelector('.bar-value').textContent = prediction ? percent(p) : '–';
      bar.querySelector('.bar-fill').style.setProperty('--p', String(Math.min(1, Math.max(0, p))));
    });

    const preview = prediction && typeof prediction.preview === 'string'
      && prediction.preview.startsWith('data:image/') ? prediction.preview : null;
    el.preview.hidden = !preview;
    if (preview) {
      el.preview.src = preview;
      el.preview.alt = t('previewAlt');
    } else {
      el.preview.removeAttribute('src');
      el.preview.alt = '';
    }
    if (prediction?.model) this.#model = String(prediction.model);
    el.model.textContent = this.#model;
    el.model.parentElement.hidden = !this.#model;
  }
}

/** The digits an unsure answer hesitates between: the server's, else the two most probable. */
function candidatesOf(prediction) {
  return Array.isArray(prediction.candidates) && prediction.candidates.length > 1
    ? prediction.candidates : rank(prediction.probabilities).slice(0, 2);
}

/** Digits from most to least probable. */
function rank(probabilities) {
  return probabilities.map((p, digit) => digit).sort((a, b) => probabilities[b] - probabilities[a]);
}

function percent(p) {
  if (p > 0 && p < 0.005) return '<1%';
  return `${Math.round(p * 100)}%`;
}
