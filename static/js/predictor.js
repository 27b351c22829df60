// Asks the server what the drawing is: debounced, one request at a time, latest answer wins.

/** What a caller gets in onError: kind is 'server' (with the server's message), 'network',
 * 'timeout' or 'bad-response' (an answer that is not the JSON the contract describes). */

export class Predictor {
  #endpoint;
  #delay;
  #timeout;
  #getImage;
  #onResult;
  #onError;
  #accept;
  #timer = 0;
  #seq = 0; // number of the newest request; answers to older ones are dropped
  #controller = null;

  /**
   * @param {{getImage: () => string, onResult: (prediction: object) => void,
   *          onError: (error: {kind: string, message?: string, status?: number}) => void,
   *          endpoint?: string, delay?: number, timeout?: number, accept?: (body: object) => boolean}} options
   *   accept tells an answer of the endpoint from a malformed one (default: a /predict answer).
   */
  constructor({
    getImage, onResult, onError, endpoint = 'predict', delay = 150, timeout = 15000, accept = isPrediction,
  }) {
    this.#accept = accept;
    this.#getImage = getImage;
    this.#onResult = onResult;
    this.#onError = onError;
    this.#endpoint = endpoint;
    this.#delay = delay;
    this.#timeout = timeout;
  }

  /** Predicts after a short quiet spell, so quick successive strokes send one request. */
  schedule() {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.now(), this.#delay);
  }

  /** Drops any waiting or running request: its answer will never be shown. */
  cancel() {
    clearTimeout(this.#timer);
    this.#seq += 1;
    this.#controller?.abort();
    this.#controller = null;
  }

  async now() {
    this.cancel();
    const seq = this.#seq;
    const controller = new AbortController();
    this.#controller = controller;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.#timeout);
    let response;
    let body = null;
    try {
      response = await fetch(this.#endpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ image: this.#getImage() }),
        signal: controller.signal,
        cache: 'no-store',
      });
      body = await response.json().catch(() => null);
    } catch {
      if (seq === this.#seq) this.#onError({ kind: timedOut ? 'timeout' : 'network' });
      return;
    } finally {
      clearTimeout(timer);
    }
    if (seq !== this.#seq) return; // a newer drawing was sent meanwhile
    this.#controller = null;
    if (response.ok && this.#accept(body)) this.#onResult(body);
    else if (typeof body?.error?.message === 'string') {
      this.#onError({ kind: 'server', message: body.error.message, status: response.status });
    } else this.#onError({ kind: 'bad-response', status: response.status });
  }
}

export function isPrediction(body) {
  const p = body?.probabilities;
  return Number.isInteger(body?.digit) && body.digit >= 0 && body.digit <= 9
    && Array.isArray(p) && p.length === 10 && p.every((v) => Number.isFinite(v));
}
