// The result panel's states, shared by Digit mode (results.js) and Number mode (number.js): empty,
// a drawing too small to send, waiting, an answer, an error. A view keeps what it shows so that it
// can redraw the same state in another language; subclasses draw the answer itself.

export class PanelView {
  #root;
  #status;
  #error;
  #errorText;
  #t;
  #shown = { state: 'empty' };

  /** @param {HTMLElement} root the result panel; @param {Function} t the translator */
  constructor(root, t) {
    this.#root = root;
    this.#t = t;
    this.#status = root.querySelector('#status');
    this.#error = root.querySelector('#error');
    this.#errorText = root.querySelector('#error-text');
  }

  /** Both views share the panel: only the one on screen should redraw (`redraw: false` otherwise). */
  setTranslator(t, { redraw = true } = {}) {
    this.#t = t;
    if (redraw) this.redraw();
  }

  showEmpty() {
    this.show({ state: 'empty' });
  }

  /** The drawing is only a dot: nothing was sent, the user is asked for a whole digit. */
  showTooSmall() {
    this.show({ state: 'too-small' });
  }

  /** Keeps the last answer on screen, dimmed, until the new one arrives. */
  showPending() {
    this.#root.dataset.state = 'pending';
    this.#root.setAttribute('aria-busy', 'true');
  }

  /** @param {{kind: string, message?: string, status?: number}} error what went wrong (predictor.js) */
  showError(error) {
    this.show({ state: 'error', error });
  }

  show(shown) {
    this.#shown = shown;
    this.redraw();
  }

  redraw() {
    const shown = this.#shown;
    const t = this.#t;
    this.#root.dataset.state = shown.state;
    this.#root.setAttribute('aria-busy', 'false');
    this.#error.hidden = shown.state !== 'error';
    this.#errorText.textContent = shown.state === 'error' ? errorMessage(t, shown.error) : '';
    this.#status.textContent = this.statusText(shown, t);
    this.draw(shown, t);
  }

  /** The status line for `shown` (each mode words it differently). */
  statusText(shown, t) {
    throw new Error(`${this.constructor.name} must say its status`);
  }

  /** Draws the rest of `shown`: the answer, or nothing. */
  draw(shown, t) {}
}

export function errorMessage(t, error) {
  switch (error.kind) {
    case 'server': return t('errorServer', { message: error.message });
    case 'timeout': return t('errorTimeout');
    case 'network': return t('errorNetwork');
    default: return t('errorBadResponse', { status: error.status ?? '?' });
  }
}
