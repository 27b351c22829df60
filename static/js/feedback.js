// After an answer, the user says which digit they drew, or that it was not a digit at all
// (one click or one key); the server keeps it.

/** The label /feedback takes for "this was not a digit". */
export const NOT_A_DIGIT = 'not_a_digit';

export class FeedbackPanel {
  #root;
  #t;
  #endpoint;
  #offer = null; // {prediction, image} the user may confirm or correct
  #sent = null; // {label, state: 'sending' | 'saved' | 'failed', message}
  #el;

  /** @param {HTMLElement} root the #feedback group; @param {Function} t the translator */
  constructor(root, t, { endpoint = 'feedback' } = {}) {
    this.#root = root;
    this.#t = t;
    this.#endpoint = endpoint;
    this.#el = {
      buttons: [...root.querySelectorAll('.digit-button')].sort((a, b) => a.dataset.digit - b.dataset.digit),
      notDigit: root.querySelector('#feedback-not-digit'),
      status: root.querySelector('#feedback-status'),
    };
    for (const button of this.#el.buttons) {
      button.addEventListener('click', () => this.choose(Number(button.dataset.digit)));
    }
    this.#el.notDigit?.addEventListener('click', () => this.choose(NOT_A_DIGIT));
  }

  setTranslator(t) {
    this.#t = t;
    this.#draw();
  }

  /** A new answer to the drawing `image` (the data URL that was sent to /predict). */
  offer(prediction, image) {
    this.#offer = typeof image === 'string' ? { prediction, image } : null;
    this.#sent = null;
    this.#draw();
  }

  /** The drawing changed or the answer is gone: nothing to confirm any more. */
  withdraw() {
    this.#offer = null;
    this.#sent = null;
    this.#draw();
  }

  /** The user's digit (or NOT_A_DIGIT); returns false when there is nothing to answer (already sent, no answer). */
  choose(label) {
    if (!this.#offer || (this.#sent && this.#sent.state !== 'failed')) return false;
    this.#send(this.#offer, label);
    return true;
  }

  async #send(offer, label) {
    const sent = { label, state: 'sending' };
    this.#sent = sent;
    this.#draw();
    const { prediction, image } = offer;
    Object.assign(sent, await postFeedback(this.#endpoint, {
      image, label, predicted: prediction.digit, confidence: prediction.confidence, model: prediction.model,
    }));
    if (this.#sent === sent) this.#draw(); // not withdrawn meanwhile
  }

  #draw() {
    const t = this.#t;
    const offer = this.#offer;
    const sent = this.#sent;
    this.#root.hidden = !offer;
    this.#root.dataset.state = sent ? sent.state : 'asking';
    const locked = Boolean(sent) && sent.state !== 'failed';
    const answeredNotDigit = offer?.prediction.verdict === NOT_A_DIGIT;
    this.#el.buttons.forEach((button, digit) => {
      button.classList.toggle('is-answer', Boolean(offer) && !answeredNotDigit && digit === offer.prediction.digit);
      button.setAttribute('aria-pressed', String(Boolean(sent) && sent.label === digit && sent.state !== 'failed'));
      button.setAttribute('aria-disabled', String(locked));
      button.setAttribute('aria-label', offer && !answeredNotDigit && digit === offer.prediction.digit
        ? t('feedbackRight', { digit }) : t('barLabel', { digit }));
    });
    const notDigit = this.#el.notDigit;
    if (notDigit) {
      notDigit.classList.toggle('is-answer', answeredNotDigit);
      notDigit.setAttribute('aria-pressed', String(Boolean(sent) && sent.label === NOT_A_DIGIT && sent.state !== 'failed'));
      notDigit.setAttribute('aria-disabled', String(locked));
      notDigit.textContent = t('feedbackNotDigit');
      notDigit.setAttribute('aria-label', answeredNotDigit ? t('feedbackNotDigitRight') : t('feedbackNotDigit'));
    }
    const status = !sent ? ''
      : sent.state === 'sending' ? t('feedbackSending')
        : sent.state === 'saved' && sent.label === NOT_A_DIGIT ? t('feedbackSavedNotDigit')
        : sent.state === 'saved' ? t(sent.label === offer?.prediction.digit && !answeredNotDigit
          ? 'feedbackConfirmed' : 'feedbackSaved', { digit: sent.label })
          : sent.message ? t('feedbackFailed', { message: sent.message }) : t('feedbackOffline');
    this.#el.status.textContent = status;
  }
}

/** POSTs one feedback record: {state: 'saved'}, or {state: 'failed', message} (null message: offline).
 * Shared by the digit panel above and Number mode's per-digit corrections (static/js/number.js). */
export async function postFeedback(endpoint, record) {
  try {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(record),
      cache: 'no-store',
    });
    const body = await response.json().catch(() => null);
    if (response.ok) return { state: 'saved' };
    return { state: 'failed', message: body?.error?.message ?? `HTTP ${response.status}` };
  } catch {
    return { state: 'failed', message: null };
  }
}
