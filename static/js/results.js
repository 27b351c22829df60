// Shows the state of the recognition: empty, waiting, an answer (digit, bars, preview) or an error.

/** Below this probability the page says plainly that it is not sure (answers without a `verdict`). */
export const UNSURE_BELOW = 0.6;

/** The server's verdict, or the page's own rule for a server that sends none. */
export function verdictOf(prediction) {
  if (['digit', 'unsure', 'not_a_digit'].includes(prediction.verdict)) return prediction.verdict;
  return prediction.probabilities[prediction.digit] < UNSURE_BELOW ? 'unsure' : 'digit';
}

export class ResultView {
  #root;
  #el;
  #t;
  #shown = { state: 'empty' }; // kept to redraw the same state in another language
  #model = ''; // version of the model that gave the last answer

  /** @param {HTMLElement} root the result panel; @param {Function} t the translator */
  constructor(root, t) {
    this.#root = root;
    this.#t = t;
    const $ = (selector) => root.querySelector(selector);
    this.#el = {
      status: $('#status'),
      error: $('#error'),
      errorText: $('#error-text'),
      digit: $('#digit'),
      confidence: $('#confidence'),
      preview: $('#preview'),
      model: $('#model-version'),
      bars: [...root.querySelectorAll('.bar')].sort((a, b) => a.dataset.digit - b.dataset.digit),
    };
  }

  setTranslator(t) {
    this.#t = t;
    this.#draw();
  }

  showEmpty() {
    this.#show({ state: 'empty' });
  }

  /** Keeps the last answer on screen, dimmed, until the new one arrives. */
  /** The drawing is only a dot: nothing was sent, the user is asked for a whole digit. */
  showTooSmall() {
    this.#show({ state: 'too-small' });
  }

  showPending() {
    this.#root.dataset.state = 'pending';
    this.#root.setAttribute('aria-busy', 'true');
  }

  showResult(prediction) {
    this.#show({ state: 'result', prediction });
  }

  showError(error) {
    this.#show({ state: 'error', error });
  }

  #show(shown) {
    this.#shown = shown;
    this.#draw();
  }

  #draw() {
    const { state, prediction, error } = this.#shown;
    const t = this.#t;
    const el = this.#el;
    const ranked = prediction ? rank(prediction.probabilities) : [];
    const verdict = state === 'result' ? verdictOf(prediction) : '';
    const unsure = verdict === 'unsure';
    const notDigit = verdict === 'not_a_digit';
    const confidence = prediction ? prediction.probabilities[prediction.digit] : 0;
    const candidates = unsure && Array.isArray(prediction.candidates) && prediction.candidates.length > 1
      ? prediction.candidates : ranked.slice(0, 2);

    this.#root.dataset.state = state;
    this.#root.dataset.verdict = verdict;
    this.#root.setAttribute('aria-busy', 'false');
    this.#root.classList.toggle('is-unsure', unsure);
    this.#root.classList.toggle('is-not-digit', notDigit);

    el.error.hidden = state !== 'error';
    el.errorText.textContent = state === 'error' ? errorMessage(t, error) : '';

    el.status.textContent = {
      empty: () => t('statusEmpty'),
      'too-small': () => t('statusTooSmall'),
      error: () => t('statusError'),
      result: () => {
        if (notDigit) return t('statusNotDigit');
        if (unsure) {
          return t('statusUnsure', {
            digit: prediction.digit, pct: percent(confidence), candidates: candidates.join(t('or')),
            second: candidates[1], pct2: percent(prediction.probabilities[candidates[1]]),
          });
        }
        return t('statusResult', { digit: prediction.digit, pct: percent(confidence) });
      },
    }[state]();

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

/** Digits from most to least probable. */
function rank(probabilities) {
  return probabilities.map((p, digit) => digit).sort((a, b) => probabilities[b] - probabilities[a]);
}

function percent(p) {
  if (p > 0 && p < 0.005) return '<1%';
  return `${Math.round(p * 100)}%`;
}

export function errorMessage(t, error) {
  switch (error.kind) {
    case 'server': return t('errorServer', { message: error.message });
    case 'timeout': return t('errorTimeout');
    case 'network': return t('errorNetwork');
    default: return t('errorBadResponse', { status: error.status ?? '?' });
  }
}
