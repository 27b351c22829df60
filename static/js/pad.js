// The drawing pad: pointer input (mouse, touch, pen), a stroke history, and rendering.
//
// Strokes are kept in coordinates relative to the canvas height (y 0..1, x 0..aspect), so the
// pad can be resized or moved to a screen with another pixel density and redrawn exactly, and
// so the image sent to the server does not depend on the screen it was drawn on. The pad is
// square (aspect 1) for a digit and wide (5:2) for a number.

/** Brush width as a fraction of the side: after the server scales the digit to 20 px it
 * leaves strokes about 2 px wide, like MNIST's pen. */
export const BRUSH_WIDTH = 1 / 13;
/** A drawing whose strokes span less than one pen width is a tap or a dot, not a digit: its ink
 * is under two pens long, stubbier than any MNIST digit, yet the network would name a digit for
 * it with high confidence (a dot reads as a 0, 92% sure). */
export const DOT_EXTENT = BRUSH_WIDTH;
/** Height in pixels of the image sent for recognition (independent of the screen); its width
 * is that times the aspect. */
export const EXPORT_SIDE = 280;
const INK = '#111418';
const PAPER = '#ffffff';

export class DrawingPad {
  #canvas;
  #ctx;
  #strokes = [];
  #active = null; // {pointerId, points} while a pointer is down
  #frame = 0;
  #onChange;
  #onStrokeEnd;
  #aspect = 1; // width / height
  #resize = null; // refits the backing store after an aspect change

  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{onChange?: () => void, onStrokeEnd?: () => void}} callbacks
   *   onChange after any change to the drawing; onStrokeEnd when a stroke is finished.
   */
  constructor(canvas, { onChange = () => {}, onStrokeEnd = () => {} } = {}) {
    this.#canvas = canvas;
    this.#ctx = canvas.getContext('2d');
    this.#onChange = onChange;
    this.#onStrokeEnd = onStrokeEnd;
    canvas.addEventListener('pointerdown', (e) => this.#down(e));
    canvas.addEventListener('pointermove', (e) => this.#move(e));
    canvas.addEventListener('pointerup', (e) => this.#end(e));
    canvas.addEventListener('pointercancel', (e) => this.#end(e));
    canvas.addEventListener('lostpointercapture', (e) => this.#end(e));
    canvas.addEventListener('contextmenu', (e) => e.preventDefault()); // long press on touch
    this.#watchSize();
  }

  /** Width / height of the pad; changing it clears the drawing (strokes are for one shape). */
  get aspect() {
    return this.#aspect;
  }

  set aspect(value) {
    if (value === this.#aspect) return;
    this.#aspect = value;
    this.clear();
    this.#resize?.();
  }

  get strokeCount() {
    return this.#strokes.length;
  }

  get isEmpty() {
    return this.#strokes.length === 0 && this.#active === null;
  }

  /** The larger of the width and height spanned by the finished strokes (0..1 of the height). */
  get extent() {
    const points = this.#strokes.flat();
    if (points.length === 0) return 0;
    const xs = points.map(([x]) => x);
    const ys = points.map(([, y]) => y);
    return Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
  }

  /** Removes the last finished stroke; false when there was none. */
  undo() {
    if (this.#active || this.#strokes.length === 0) return false;
    this.#strokes.pop();
    this.#changed();
    return true;
  }

  clear() {
    const active = this.#active;
    this.#active = null; // first, so the lostpointercapture that follows is not taken as a stroke
    if (active) this.#release(active.pointerId);
    this.#strokes = [];
    this.#changed();
  }

  /** PNG data URL of the finished strokes: dark ink on white, EXPORT_SIDE pixels high. */
  toDataURL() {
    return this.toCanvas().toDataURL('image/png');
  }

  /** The image toDataURL encodes, as a canvas (EXPORT_SIDE high, EXPORT_SIDE * aspect wide). */
  toCanvas() {
    const out = document.createElement('canvas');
    out.width = Math.round(EXPORT_SIDE * this.#aspect);
    out.height = EXPORT_SIDE;
    paint(out.getContext('2d'), out.width, out.height, this.#strokes);
    return out;
  }

  #down(event) {
    if (this.#active || !event.isPrimary) return; // one pointer draws; a second finger is ignored
    if (event.button !== 0) return; // main button, finger or pen tip only (not a pen's eraser)
    event.preventDefault(); // no text selection, no emulated mouse events
    this.#canvas.setPointerCapture(event.pointerId);
    this.#active = { pointerId: event.pointerId, points: [this.#point(event)] };
    this.#changed();
  }

  #move(event) {
    if (!this.#active || event.pointerId !== this.#active.pointerId) return;
    const events = event.getCoalescedEvents?.() || [];
    for (const e of events.length ? events : [event]) this.#addPoint(this.#point(e));
    this.#scheduleRender();
  }

  #end(event) {
    const stroke = this.#active;
    if (!stroke || event.pointerId !== stroke.pointerId) return;
    if (event.type === 'pointerup') this.#addPoint(this.#point(event));
    this.#active = null;
    this.#release(event.pointerId);
    this.#strokes.push(stroke.points);
    this.#changed();
    this.#onStrokeEnd();
  }

  #release(pointerId) {
    if (this.#canvas.hasPointerCapture(pointerId)) this.#canvas.releasePointerCapture(pointerId);
  }

  #point(event) {
    const rect = this.#canvas.getBoundingClientRect();
    const clamp = (v) => Math.min(1, Math.max(0, v));
    const x = clamp((event.clientX - rect.left) / rect.width) * this.#aspect;
    return [x, clamp((event.clientY - rect.top) / rect.height)];
  }

  #addPoint(point) {
    const points = this.#active.points;
    const last = points[points.length - 1];
    if (last[0] !== point[0] || last[1] !== point[1]) points.push(point);
  }

  #changed() {
    this.#render();
    this.#canvas.dataset.strokes = String(this.#strokes.length);
    this.#onChange();
  }

  #scheduleRender() {
    if (this.#frame) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0;
      this.#render();
    });
  }

  #render() {
    const strokes = this.#active ? [...this.#strokes, this.#active.points] : this.#strokes;
    paint(this.#ctx, this.#canvas.width, this.#canvas.height, strokes);
  }

  /** Keeps the backing store at the displayed size times the pixel density (sharp on HiDPI). */
  #watchSize() {
    let last = null;
    const fit = (width, height) => {
      last = [width, height];
      const tall = Math.max(1, Math.round(Math.min(height, width / this.#aspect)));
      const wide = Math.max(1, Math.round(tall * this.#aspect));
      if (this.#canvas.width === wide && this.#canvas.height === tall) return;
      this.#canvas.width = wide;
      this.#canvas.height = tall;
      this.#render();
    };
    this.#resize = () => last && fit(...last);
    const observer = new ResizeObserver(([entry]) => {
      const width = entry.contentRect.width * devicePixelRatio;
      const height = entry.contentRect.height * devicePixelRatio;
      // The exact device-pixel box when the browser gives one that agrees (emulated
      // densities, e.g. in devtools, may report CSS pixels there).
      const box = entry.devicePixelContentBoxSize?.[0];
      if (box && Math.abs(box.inlineSize - width) <= 2) fit(box.inlineSize, box.blockSize);
      else fit(width, height);
    });
    try {
      observer.observe(this.#canvas, { box: 'device-pixel-content-box' });
    } catch {
      observer.observe(this.#canvas); // browsers without device-pixel boxes
    }
  }
}

/** Draws strokes (coordinates in units of the height) onto a context of width x height pixels. */
function paint(ctx, width, height, strokes) {
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = PAPER;
  ctx.fillRect(0, 0, width, height);
  ctx.setTransform(height, 0, 0, height, 0, 0);
  ctx.strokeStyle = INK;
  ctx.fillStyle = INK;
  ctx.lineWidth = BRUSH_WIDTH;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  for (const points of strokes) {
    if (points.length === 1) {
      ctx.beginPath();
      ctx.arc(points[0][0], points[0][1], BRUSH_WIDTH / 2, 0, 2 * Math.PI);
      ctx.fill();
      continue;
    }
    // Quadratic curves through the midpoints: smooth lines from sparse pointer samples.
    ctx.beginPath();
    ctx.moveTo(points[0][0], points[0][1]);
    for (let i = 1; i < points.length - 1; i += 1) {
      const [x, y] = points[i];
      const [nx, ny] = points[i + 1];
      ctx.quadraticCurveTo(x, y, (x + nx) / 2, (y + ny) / 2);
    }
    const [lx, ly] = points[points.length - 1];
    ctx.lineTo(lx, ly);
    ctx.stroke();
  }
}
