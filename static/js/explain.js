// The "Why?" panel: asks POST /explain about the drawing the last answer was for, and shows the
// saliency map over the 28x28 preview and over the user's strokes, the logits and the softmax
// written out, and a strip per hidden layer with its strongest units' templates. Clicking a
// probability bar (or a digit button here) explains that digit instead ("why not 9?").

const GRID_COLUMNS = 40; // a hidden layer of 800 units is drawn as 40 x 20 cells
const CANDIDATES = 3; // rows of the logits table

export class ExplainPanel {
  #root;
  #t;
  #toggle;
  #pad;
  #endpoint;
  #offer = null; // {prediction, image}: the answer on screen and the drawing it is about
  #target = null;
  #shown = null; // the last /explain answer drawn
  #state = 'idle'; // idle | loading | shown | failed
  #error = '';
  #seq = 0;
  #controller = null;
  #images = null; // the preview and heat maps of #shown, decoded
  #el;

  /**
   * @param {HTMLElement} root the #why panel; @param {HTMLButtonElement} toggle the "Why?" button
   * @param {HTMLElement} bars the probability bars; @param {HTMLCanvasElement} pad the drawing
   */
  constructor(root, { toggle, bars, pad, t, endpoint = 'explain' }) {
    this.#root = root;
    this.#toggle = toggle;
    this.#pad = pad;
    this.#t = t;
    this.#endpoint = endpoint;
    const $ = (selector) => root.querySelector(selector);
    this.#el = {
      status: $('#why-status'),
      preview: $('#why-preview'),
      strokes: $('#why-strokes'),
      logits: $('#why-logits'),
      softmaxSum: $('#why-softmax-sum'),
      layers: $('#why-layers'),
      forLabel: $('#why-for'),
      againstLabel: $('#why-against'),
      methodHelp: $('#why-method-help'),
      targets: [...root.querySelectorAll('.target-button')],
      methods: [...root.querySelectorAll('input[name="why-method"]')],
    };
    toggle.addEventListener('click', () => (this.isOpen ? this.close() : this.open()));
    $('#why-close').addEventListener('click', () => {
      this.close();
      toggle.focus();
    });
    for (const button of this.#el.targets) {
      button.addEventListener('click', () => this.explain(Number(button.dataset.digit)));
    }
    for (const radio of this.#el.methods) radio.addEventListener('change', () => this.#draw());
    bars.addEventListener('click', (event) => {
      const bar = event.target.closest('.bar');
      if (!bar || !this.#offer) return;
      if (!this.isOpen) this.#setOpen(true);
      this.explain(Number(bar.dataset.digit));
    });
  }

  get isOpen() {
    return !this.#root.hidden;
  }

  setTranslator(t) {
    this.#t = t;
    this.#draw();
  }

  /** A new answer on screen for the drawing `image` (the data URL sent to /predict). */
  offer(prediction, image) {
    this.#offer = typeof image === 'string' ? { prediction, image } : null;
    this.#toggle.disabled = !this.#offer;
    this.#shown = null;
    this.#target = prediction.digit;
    if (this.isOpen && this.#offer) this.explain(prediction.digit);
    else this.#draw();
  }

  /** The drawing changed or is gone: the explanation no longer applies (an open panel stays
   * open and explains the next answer). */
  withdraw() {
    this.#cancel();
    this.#offer = null;
    this.#shown = null;
    this.#state = 'idle';
    this.#toggle.disabled = true;
    this.#draw();
  }

  open() {
    if (!this.#offer) return;
    this.#setOpen(true);
    this.explain(this.#target ?? this.#offer.prediction.digit);
  }

  close() {
    this.#cancel();
    this.#setOpen(false);
  }

  #setOpen(open) {
    this.#root.hidden = !open;
    this.#toggle.setAttribute('aria-expanded', String(open));
    document.body.classList.toggle('why-open', open);
  }

  #cancel() {
    this.#seq += 1;
    this.#controller?.abort();
    this.#controller = null;
  }

  /** Asks the server why (or why not) `target`; the newest request wins. */
  async explain(target) {
    if (!this.#offer) return;
    this.#cancel();
    const seq = this.#seq;
    const controller = new AbortController();
    this.#controller = controller;
    this.#target = target;
    this.#state = 'loading';
    this.#draw();
    let body = null;
    let ok = false;
    try {
      const response = await fetch(this.#endpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ image: this.#offer.image, target }),
        signal: controller.signal,
        cache: 'no-store',
      });
      body = await response.json().catch(() => null);
      ok = response.ok;
    } catch {
      if (seq !== this.#seq) return;
      body = null;
    }
    if (seq !== this.#seq) return;
    this.#controller = null;
    if (ok && isExplanation(body)) {
      this.#shown = body;
      this.#state = 'shown';
      this.#error = '';
      // The image has to load before the canvases can use it.
      await Promise.all([loadImage(body.preview), ...Object.values(body.saliency).map((m) => loadImage(m.png))])
        .then(([preview, ...maps]) => {
          this.#images = { preview, maps: Object.fromEntries(Object.keys(body.saliency).map((k, i) => [k, maps[i]])) };
        })
        .catch(() => { this.#images = null; });
      if (seq !== this.#seq) return;
    } else {
      this.#state = 'failed';
      this.#error = typeof body?.error?.message === 'string' ? body.error.message : '';
    }
    this.#draw();
  }

  #method() {
    const checked = this.#el.methods.find((r) => r.checked)?.value || 'integrated_gradients';
    const saliency = this.#shown?.saliency || {};
    return saliency[checked] ? checked : 'gradient_x_input';
  }

  #draw() {
    const t = this.#t;
    const el = this.#el;
    const shown = this.#shown;
    const target = this.#target;
    this.#root.dataset.state = this.#state;
    this.#root.setAttribute('aria-busy', String(this.#state === 'loading'));
    this.#root.dataset.target = shown ? String(shown.target) : '';
    for (const button of el.targets) {
      const pressed = target !== null && Number(button.dataset.digit) === target;
      button.setAttribute('aria-pressed', String(pressed));
      button.classList.toggle('is-answer', Boolean(this.#offer) && Number(button.dataset.digit) === this.#offer.prediction.digit);
    }
    for (const bar of document.querySelectorAll('#bars .bar')) {
      bar.classList.toggle('explained', this.isOpen && target !== null && Number(bar.dataset.digit) === target);
    }
    el.status.textContent = {
      idle: t('whyIdle'),
      loading: t('whyLoading', { digit: target ?? '' }),
      failed: this.#error ? t('whyFailed', { message: this.#error }) : t('whyOffline'),
      shown: shown && this.#offer && shown.target !== this.#offer.prediction.digit
        ? t('whyNot', { digit: shown.target, answer: this.#offer.prediction.digit })
        : t('whyBecause', { digit: shown?.target ?? '' }),
    }[this.#state];
    el.forLabel.textContent = t('whyFor', { digit: shown?.target ?? target ?? '' });
    el.againstLabel.textContent = t('whyAgainst', { digit: shown?.target ?? target ?? '' });
    if (!shown) {
      clearCanvas(el.preview);
      clearCanvas(el.strokes);
      el.logits.replaceChildren();
      el.layers.replaceChildren();
      el.softmaxSum.textContent = '';
      el.methodHelp.textContent = '';
      return;
    }
    const method = this.#method();
    const map = shown.saliency[method];
    el.methodHelp.textContent = t(`help_${method}`, {
      steps: map.steps ?? '', gap: map.completeness_gap !== undefined ? fixed(map.completeness_gap, 2) : '',
    });
    this.#root.dataset.method = method;
    if (this.#images) {
      drawOverPreview(el.preview, this.#images.preview, this.#images.maps[method]);
      drawOverStrokes(el.strokes, this.#pad, this.#images.maps[method], shown.input_box);
    }
    this.#drawLogits(shown);
    this.#drawLayers(shown);
  }

  #drawLogits(shown) {
    const t = this.#t;
    const logits = shown.logits;
    const temperature = shown.temperature > 0 ? shown.temperature : 1;
    const top = Math.max(...logits);
    const exps = logits.map((z) => Math.exp((z - top) / temperature));
    const total = exps.reduce((a, b) => a + b, 0);
    const order = logits.map((_, d) => d).sort((a, b) => logits[b] - logits[a]);
    const rows = order.slice(0, CANDIDATES);
    if (!rows.includes(shown.target)) rows.push(shown.target);
    const head = document.createElement('tr');
    for (const key of ['thDigit', 'thLogit', 'thShifted', 'thExp', 'thProb']) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = t(key);
      head.append(th);
    }
    const body = rows.map((d) => {
      const tr = document.createElement('tr');
      tr.dataset.digit = String(d);
      if (d === shown.target) tr.className = 'is-target';
      const cells = [d < 10 ? String(d) : t('notDigitRow'), fixed(logits[d], 2), fixed(logits[d] - top, 2), exps[d].toPrecision(3),
        `${fixed((exps[d] / total) * 100, 2)}%`];
      for (const [i, text] of cells.entries()) {
        const cell = document.createElement(i === 0 ? 'th' : 'td');
        if (i === 0) cell.scope = 'row';
        cell.textContent = text;
        tr.append(cell);
      }
      return tr;
    });
    this.#el.logits.replaceChildren(head, ...body);
    this.#el.softmaxSum.textContent = t(temperature === 1 ? 'softmaxSum' : 'softmaxSumT', {
      total: total.toPrecision(4), max: fixed(top, 2), temperature: fixed(temperature, 3),
    });
  }

  #drawLayers(shown) {
    const t = this.#t;
    const strips = shown.layers.filter((layer) => layer.contributing_units).map((layer, index) => {
      const strip = document.createElement('section');
      strip.className = 'layer-strip';
      strip.dataset.layer = String(index + 1);
      const title = document.createElement('h4');
      const active = layer.values.filter((v) => v > 0).length;
      title.textContent = t('layerTitle', { n: index + 1, size: layer.size, active });
      const grid = document.createElement('canvas');
      grid.className = 'layer-grid';
      grid.setAttribute('role', 'img');
      grid.setAttribute('aria-label', t('layerGridLabel', { n: index + 1, size: layer.size }));
      drawUnitGrid(grid, layer.values, layer.contributing_units.map((u) => u.unit));
      const top = document.createElement('p');
      top.className = 'hint layer-top';
      top.textContent = t('layerTop', {
        units: layer.top_units.slice(0, 5).map((u) => `#${u.unit} ${fixed(u.value, 2)}`).join(', '),
      });
      const caption = document.createElement('p');
      caption.className = 'hint';
      caption.textContent = t(layer.template_kind === 'weights' ? 'templatesWeights' : 'templatesGradient', {
        digit: shown.target,
      });
      const templates = document.createElement('ul');
      templates.className = 'templates';
      for (const unit of layer.contributing_units) {
        const item = document.createElement('li');
        const img = document.createElement('img');
        img.src = unit.template;
        img.width = 56;
        img.height = 56;
        img.alt = t('templateAlt', { unit: unit.unit });
        const label = document.createElement('span');
        label.className = unit.contribution >= 0 ? 'contribution for' : 'contribution against';
        label.textContent = `#${unit.unit} ${unit.contribution >= 0 ? '+' : '−'}${fixed(Math.abs(unit.contribution), 2)}`;
        item.append(img, label);
        templates.append(item);
      }
      strip.append(title, grid, top, caption, templates);
      return strip;
    });
    this.#el.layers.replaceChildren(...strips);
  }
}

function isExplanation(body) {
  return Number.isInteger(body?.target) && Array.isArray(body?.logits) && body.logits.length >= 10
    && Array.isArray(body?.layers) && body?.saliency?.gradient_x_input?.png
    && typeof body?.preview === 'string' && body.preview.startsWith('data:image/png');
}

function loadImage(src) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = reject;
    img.src = src;
  });
}

function fixed(v, digits) {
  return Number(v).toFixed(digits).replace('-', '−');
}

function sizeCanvas(canvas) {
  const width = canvas.getBoundingClientRect().width;
  const side = width > 0 ? Math.round(width * devicePixelRatio) : 224;
  if (canvas.width !== side) {
    canvas.width = side;
    canvas.height = side;
  }
  return side;
}

function clearCanvas(canvas) {
  canvas.getContext('2d').clearRect(0, 0, canvas.width, canvas.height);
}

/** The 28x28 preview (white ink on black), its pixels kept square, the heat map over it. */
function drawOverPreview(canvas, preview, heat) {
  const side = sizeCanvas(canvas);
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingEnabled = false;
  ctx.globalAlpha = 1;
  ctx.drawImage(preview, 0, 0, side, side);
  ctx.fillStyle = 'rgb(255 255 255 / 55%)'; // lighten the black field so red and blue read on it
  ctx.fillRect(0, 0, side, side);
  ctx.drawImage(heat, 0, 0, side, side);
}

/** The user's strokes as drawn, the heat map laid over them: the 28x28 field's inked box
 * (input_box) is mapped onto the strokes' own bounding box, as preprocessing scaled one to the other. */
function drawOverStrokes(canvas, pad, heat, box) {
  const side = sizeCanvas(canvas);
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(pad, 0, 0, side, side);
  const ink = inkBox(pad);
  if (!ink || !box?.width || !box?.height) return;
  // Preprocessing keeps the aspect ratio: one scale, fixed by the longer side, centred on the box.
  const scale = (Math.max(ink.w, ink.h) * side) / Math.max(box.width, box.height);
  const cx = (ink.x + ink.w / 2) * side;
  const cy = (ink.y + ink.h / 2) * side;
  const x0 = cx - (box.left + box.width / 2) * scale;
  const y0 = cy - (box.top + box.height / 2) * scale;
  ctx.globalAlpha = 0.85;
  ctx.drawImage(heat, x0, y0, 28 * scale, 28 * scale);
  ctx.globalAlpha = 1;
}

/** Bounding box of the dark ink on the pad, in 0..1 of its side (read from its pixels). */
function inkBox(pad) {
  const n = 140;
  const probe = document.createElement('canvas');
  probe.width = n;
  probe.height = n;
  const ctx = probe.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(pad, 0, 0, n, n);
  const { data } = ctx.getImageData(0, 0, n, n);
  let minX = n; let minY = n; let maxX = -1; let maxY = -1;
  for (let y = 0; y < n; y += 1) {
    for (let x = 0; x < n; x += 1) {
      if (data[(y * n + x) * 4] < 160) {
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
      }
    }
  }
  if (maxX < 0) return null;
  return { x: minX / n, y: minY / n, w: (maxX - minX + 1) / n, h: (maxY - minY + 1) / n };
}

/** Every unit of a layer as a cell (brightness = activation / the layer's maximum); the units
 * whose templates are shown get an outline. */
function drawUnitGrid(canvas, values, marked) {
  const columns = Math.min(GRID_COLUMNS, values.length);
  const rows = Math.ceil(values.length / columns);
  const cell = 6;
  canvas.width = columns * cell;
  canvas.height = rows * cell;
  const ctx = canvas.getContext('2d');
  const peak = Math.max(...values.map(Math.abs)) || 1;
  ctx.fillStyle = '#0b0d10';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  values.forEach((v, i) => {
    const x = (i % columns) * cell;
    const y = Math.floor(i / columns) * cell;
    const level = Math.min(1, Math.abs(v) / peak);
    if (level === 0) return;
    ctx.fillStyle = v >= 0 ? `rgb(255 ${Math.round(200 * (1 - level)) + 55} 0 / ${0.25 + 0.75 * level})`
      : `rgb(60 130 255 / ${0.25 + 0.75 * level})`;
    ctx.fillRect(x, y, cell - 1, cell - 1);
  });
  ctx.strokeStyle = '#ffffff';
  ctx.lineWidth = 1;
  for (const unit of marked) {
    ctx.strokeRect((unit % columns) * cell - 0.5, Math.floor(unit / columns) * cell - 0.5, cell, cell);
  }
}
