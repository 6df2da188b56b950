"""Painting the animated dots faster than Bokeh's own path, for 50,000 dots (issue 15.7).

When a data source changes, Bokeh copies every column into each of the renderer's six glyph views (normal,
selected, unselected, hovered, muted, decimated), rebuilds the spatial index, maps every colour, and strokes each
marker with about nine canvas state changes. At 50,000 dots that was about 70% of a frame. Dots need none of it:
nothing hit-tests them, their colours come from a handful of values, and their shape never changes.

So the animation loop writes the dots' x, y, alpha and colour index into the source's arrays in place, as before,
but asks only for a repaint; the dot renderer's paint is replaced by one that copies a pre-drawn dot per colour
(same size, fill, outline and alpha as the Bokeh glyph it replaces, read back as pixels) into a frame-sized layer
of pixels at each visible dot, blending where dots overlap, and draws that layer on the map in one call. (Drawing
50,000 sprites with drawImage cost about 30 ms a frame in this software-rendered Chromium; the layer about 6 ms.)
Everything else about the renderer stays Bokeh's: visibility (the subway view hides it), clipping to the frame,
pan, zoom and resize; a change from the server to the source (a new sample) still goes through Bokeh's own path.

If Bokeh's views cannot be found (another Bokeh version), the loop falls back to emitting a change, which is
slower but right. `window.__frontdoor.painter` says which ran ("sprites" or "bokeh"); `paint_ms` is the mean time of
the dot paint over the last 60 paints, `paints` how many there have been."""

# JavaScript, included in viewer.animation's loop: `layers` (each map's dots source as `.dots`) and `mapper` (the
# colour mapper) are in scope.
PAINTER = r"""
const DOT_SIZE = dot_size, DOT_ALPHA = dot_alpha, DOT_LINE = dot_line, DOT_LINE_WIDTH = dot_line_width;
const spriteCache = new Map();
function sprite(colour, ratio) {   // one dot drawn once (Bokeh's circle marker: size, fill, outline, alpha), as pixels
  const key = colour + "@" + ratio;
  let s = spriteCache.get(key);
  if (s) return s;
  const half = DOT_SIZE / 2 + DOT_LINE_WIDTH, px = Math.ceil(2 * half * ratio) + 2;
  const c = document.createElement("canvas"); c.width = px; c.height = px;
  const g = c.getContext("2d", {willReadFrequently: true});
  g.scale(ratio, ratio);
  g.beginPath(); g.arc(px / (2 * ratio), px / (2 * ratio), DOT_SIZE / 2, 0, 2 * Math.PI);
  g.globalAlpha = DOT_ALPHA; g.fillStyle = colour; g.fill();
  g.lineWidth = DOT_LINE_WIDTH; g.strokeStyle = DOT_LINE; g.stroke();
  const rgba = g.getImageData(0, 0, px, px).data, u32 = new Uint32Array(rgba.buffer);
  const dx = [], dy = [], packed = [], chan = [];
  for (let y = 0; y < px; y++) for (let x = 0; x < px; x++) {
    const q = y * px + x;
    if (rgba[4 * q + 3] === 0) continue;
    dx.push(x); dy.push(y); packed.push(u32[q]);
    chan.push(rgba[4 * q], rgba[4 * q + 1], rgba[4 * q + 2], rgba[4 * q + 3]);
  }
  s = {px: px, n: dx.length, dx: Int32Array.from(dx), dy: Int32Array.from(dy), packed: Uint32Array.from(packed),
       chan: Uint8Array.from(chan), lin: new Int32Array(dx.length), linFor: -1};
  spriteCache.set(key, s);
  return s;
}
let buf8 = null, buf32 = null, image = null, layer = null, layerCtx = null, bufW = 0, bufH = 0;
function frameBuffer(W, H) {      // the dots' own layer, frame-sized, in device pixels, cleared
  if (W !== bufW || H !== bufH || image === null) {
    bufW = W; bufH = H;
    layer = document.createElement("canvas"); layer.width = W; layer.height = H;
    layerCtx = layer.getContext("2d");
    image = layerCtx.createImageData(W, H);
    buf8 = image.data; buf32 = new Uint32Array(buf8.buffer);
  } else buf32.fill(0);
}
function blend(q, s, j) {          // source-over of sprite pixel j onto the non-empty layer pixel q (straight alpha)
  const c = s.chan, sa = c[4 * j + 3], da = buf8[4 * q + 3];
  const sw = sa * 255, dw = da * (255 - sa), w = sw + dw;
  buf8[4 * q] = (c[4 * j] * sw + buf8[4 * q] * dw) / w;
  buf8[4 * q + 1] = (c[4 * j + 1] * sw + buf8[4 * q + 1] * dw) / w;
  buf8[4 * q + 2] = (c[4 * j + 2] * sw + buf8[4 * q + 2] * dw) / w;
  buf8[4 * q + 3] = w / 255;
}
let paintMs = 0, paints = 0;
function paintDots(view, ctx) {
  // Dots are composed among themselves on a frame-sized layer of pixels (in their order, source-over, as Bokeh
  // draws them), and the layer is drawn onto the map once: the same picture, with one canvas call a frame.
  const started = performance.now();
  const d = view.model.data_source.data, X = d.x, Y = d.y, A = d.alpha, C = d.cval, n = X.length;
  const box = view.plot_view.frame.bbox;
  const ratio = view.canvas.pixel_ratio || window.devicePixelRatio || 1;
  const W = Math.max(1, Math.round(box.width * ratio)), H = Math.max(1, Math.round(box.height * ratio));
  frameBuffer(W, H);
  const xs = view.xscale, ys = view.yscale;
  const x0 = xs.compute(0), y0 = ys.compute(0);
  const ox = (x0 - box.x) * ratio, fx = (xs.compute(1) - x0) * ratio;
  const oy = (y0 - box.y) * ratio, fy = (ys.compute(1) - y0) * ratio;
  const palette = mapper.palette, P = palette.length;
  const sprites = palette.map(c => sprite(c, ratio)), unknown = sprite(mapper.low_color || "#b1b4b6", ratio);
  for (const s of [...sprites, unknown]) {
    if (s.linFor !== W) { for (let j = 0; j < s.n; j++) s.lin[j] = s.dy[j] * W + s.dx[j]; s.linFor = W; }
  }
  const half = unknown.px / 2, px = unknown.px;
  for (let i = 0; i < n; i++) {
    if (!(A[i] > 0)) continue;
    const sx = ox + fx * X[i], sy = oy + fy * Y[i];
    if (!(sx === sx && sy === sy)) continue;       // NaN: no position
    const k = C[i], s = (k >= 0 && k < P) ? sprites[k | 0] : unknown;
    const left = Math.round(sx - half), top = Math.round(sy - half);
    if (left + px <= 0 || top + px <= 0 || left >= W || top >= H) continue;
    const lin = s.lin, packed = s.packed, m = s.n;
    if (left >= 0 && top >= 0 && left + px <= W && top + px <= H) {
      const base = top * W + left;
      for (let j = 0; j < m; j++) {
        const q = base + lin[j];
        if (buf32[q] === 0) buf32[q] = packed[j]; else blend(q, s, j);
      }
    } else {                                       // at the frame's edge: clip pixel by pixel
      const DX = s.dx, DY = s.dy;
      for (let j = 0; j < m; j++) {
        const xx = left + DX[j], yy = top + DY[j];
        if (xx < 0 || yy < 0 || xx >= W || yy >= H) continue;
        const q = yy * W + xx;
        if (buf32[q] === 0) buf32[q] = packed[j]; else blend(q, s, j);
      }
    }
  }
  layerCtx.putImageData(image, 0, 0);
  ctx.drawImage(layer, box.x, box.y, W / ratio, H / ratio);
  paintMs += performance.now() - started; paints++; window.__frontdoor.paints = (window.__frontdoor.paints || 0) + 1;
  if (paints === 60) { window.__frontdoor.paint_ms = paintMs / paints; paintMs = 0; paints = 0; }
}
let dotViews = [], viewsCheckedAt = -1e9;
function findDotViews(now) {      // the glyph renderers drawing the layers' dots, their paint replaced (once each)
  if (now - viewsCheckedAt < 1000 && dotViews.length) return dotViews;
  viewsCheckedAt = now;
  const found = [];
  try {
    if (window.Bokeh && Bokeh.index && Bokeh.index.query) {
      const sources = layers.map(L => L.dots);
      for (const v of Bokeh.index.query(v => v.model && sources.includes(v.model.data_source) && v.glyph != null))
        found.push(v);
    }
  } catch (e) { }
  for (const v of found) {
    if (v.__frontdoor_sprites) continue;
    if (!(v.xscale && v.yscale && v.xscale.compute)) continue;
    v._paint = function (ctx) { paintDots(this, ctx); };
    v.__frontdoor_sprites = true;
  }
  dotViews = found.filter(v => v.__frontdoor_sprites);
  return dotViews;
}
function repaintDots(now) {
  const views = findDotViews(now);
  if (views.length) { for (const v of views) v.request_paint(); window.__frontdoor.painter = "sprites"; }
  else { for (const L of layers) L.dots.change.emit(); window.__frontdoor.painter = "bokeh"; }
}
"""
