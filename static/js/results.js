// Shows the state of the recognition: empty, waiting, an answer (digit, bars, preview) or an error.

/** Below this probability the page says plainly that it is not sure. */
export const UNSURE_BELOW = 0.6;

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
    const unsure = state === 'result' && prediction.probabilities[prediction.digit] < UNSURE_BELOW;
    const confidence = prediction ? prediction.probabilities[prediction.digit] : 0;

    this.#root.dataset.state = state;
    this.#root.setAttribute('aria-busy', 'false');
    this.#root.classList.toggle('is-unsure', unsure);

    el.error.hidden = state !== 'error';
    el.errorText.textContent = state === 'error' ? errorMessage(t, error) : '';

    el.status.textContent = {
      empty: () => t('statusEmpty'),
      'too-small': () => t('statusTooSmall'),
      error: () => t('statusError'),
      result: () => (unsure
        ? t('statusUnsure', {
          digit: prediction.digit, pct: percent(confidence), second: ranked[1], pct2: percent(prediction.probabilities[ranked[1]]),
        })
        : t('statusResult', { digit: prediction.digit, pct: percent(confidence) })),
    }[state]();

    el.digit.textContent = prediction ? String(prediction.digit) : '';
    el.confidence.replaceChildren();
    if (prediction) {
      el.confidence.append(t('confidence', { pct: percent(confidence) }));
      if (unsure) {
        const badge = document.createElement('span');
        badge.className = 'badge';
        badge.id = 'unsure';
        badge.textContent = t('unsure');
        el.confidence.append(' ', badge);
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
