"""Browser-side animation (see ../shared/notes/bokeh-animation.md): every dot's moves are sent to
the browser once; a requestAnimationFrame loop computes positions from the clock, writes the x/y
arrays in place and asks for one repaint per frame (viewer.dot_painter draws the dots). No server work
per frame, and positions stay right when frames drop.

- One layer of dots per map: the second map of a comparison has its own dots (the compared view's
  journeys, or the other release's children, on this release's calendar), moved by the same clock.

- A dot travels along its route's curve (the quadratic the map draws: x0,y0 -> control cx,cy -> x1,y1).
- Every move lasts at least MIN_MOVE_SECONDS on screen, at any speed: the loop stretches short moves
  (and delays what follows them until a longer move catches up with the calendar), recomputed when
  the speed changes. Same-day steps (most of the front door's) are seen, not two frames long.
- Colour and visibility come from the journey the dot is on (`journeys`: one row per journey, `code`
  the colour index of its value, `shown` whether the filter keeps it), so a dot is white on its
  first journey and darker on each return, and a year or team filter follows its journeys.
- While playing, the time slider follows the clock (twice a second), and the map's labels are drawn on
  the canvas (HTML labels, placed again at every frame, cost about 15% of the frame rate).
- Nothing is moved or repainted while nothing has changed (paused, same time, same colours and filter)."""

from bokeh.models import CustomJS

from viewer.dot_painter import PAINTER
from viewer.figures import DOT_ALPHA, DOT_LINE, DOT_LINE_WIDTH, DOT_SIZE

MIN_MOVE_SECONDS = 0.5

LOOP = PAINTER + r"""
// One layer per map: its dots, their moves and their journeys. The second map's layer is empty until a comparison
// fills it; a layer is (re)built whenever the server gives it new moves.
const layers = layer_sources.map(([d, s, j]) => ({dots: d, segments: s, journeys: j, t0: null}));
function build(L) {
  const seg = L.segments.data, dd = L.dots.data;
  L.t0 = seg.t0; L.n = dd.x.length; L.m = seg.t0.length;
  L.ptr = new Int32Array(L.n); L.W0 = new Float64Array(L.m); L.W1 = new Float64Array(L.m); L.widenedFor = -1;
}
function widen(L, speedValue) {   // on-screen times: every move lasts at least min_seconds at this speed
  const seg = L.segments.data, dd = L.dots.data;
  const T0 = seg.t0, T1 = seg.t1, X0 = seg.x0, Y0 = seg.y0, X1 = seg.x1, Y1 = seg.y1, LO = dd.seg_lo, HI = dd.seg_hi;
  const W0 = L.W0, W1 = L.W1, minDays = min_seconds * speedValue;
  let top = 0;
  for (let i = 0; i < L.n; i++) {
    let prev = -Infinity;
    for (let p = LO[i]; p < HI[i]; p++) {
      const a = Math.max(T0[p], prev);
      const moving = X0[p] !== X1[p] || Y0[p] !== Y1[p];
      const b = moving ? Math.max(T1[p], a + minDays) : a + (T1[p] - T0[p]);
      W0[p] = a; W1[p] = b; prev = b;
      if (b > top) top = b;
    }
  }
  L.maxT = top; L.widenedFor = speedValue;
}
function reseek(L, t) {           // each dot's first move that has not ended by time t
  const LO = L.dots.data.seg_lo, HI = L.dots.data.seg_hi, W1 = L.W1, ptr = L.ptr;
  for (let i = 0; i < L.n; i++) {
    let lo = LO[i], hi = HI[i];
    while (lo < hi) { const mid = (lo + hi) >> 1; if (W1[mid] < t) lo = mid + 1; else hi = mid; }
    ptr[i] = lo;
  }
}
let T = clock_src.data.t[0], last = performance.now(), lastT = T, shown = -1, frames = 0, fpsStart = last;
let lastSlider = last; let playing = false;
// for tests and tools: where each dot of the first map is (its move), and each move's time on screen
window.__frontdoor = {fps: 0, frames: 0, t: T, playing: false, min_seconds: min_seconds};
function ready(L) {               // the layer's state matches its data, widened for the speed and sought to T
  if (L.segments.data.t0 !== L.t0 || L.dots.data.x.length !== L.n) { build(L); }
  if (L.widenedFor !== speed.value) { widen(L, speed.value); reseek(L, T); }
}
function move(L) {                // each dot of the layer to its place at time T
  const seg = L.segments.data, dd = L.dots.data, jd = L.journeys.data;  // the server replaces `code` and `shown`
  const X0 = seg.x0, Y0 = seg.y0, CX = seg.cx, CY = seg.cy, X1 = seg.x1, Y1 = seg.y1, EP = seg.ep;
  const HI = dd.seg_hi, JX = dd.jx, JY = dd.jy, W0 = L.W0, W1 = L.W1, ptr = L.ptr;
  const x = dd.x, y = dd.y, a = dd.alpha, cval = dd.cval, CODE = jd.code, SHOWN = jd.shown;
  for (let i = 0; i < L.n; i++) {
    let p = ptr[i]; const hi = HI[i];
    while (p < hi && W1[p] < T) p++;
    ptr[i] = p;
    if (p >= hi || T < W0[p]) { a[i] = 0; continue; }
    const e = EP[p];
    if (!SHOWN[e]) { a[i] = 0; continue; }
    const span = W1[p] - W0[p];
    const f = span > 0 ? Math.min(Math.max((T - W0[p]) / span, 0), 1) : 1, u = 1 - f;
    x[i] = u * u * X0[p] + 2 * u * f * CX[p] + f * f * X1[p] + JX[i];
    y[i] = u * u * Y0[p] + 2 * u * f * CY[p] + f * f * Y1[p] + JY[i];
    cval[i] = CODE[e];
    a[i] = DOT_ALPHA;
  }
}
let lastState = [];
function changed() {              // anything the dots' places or colours rest on, since the last frame
  const state = [T, speed.value, mapper.palette, ...layers.flatMap(L => [L.t0, L.dots.data.x, L.journeys.data.code,
                                                                           L.journeys.data.shown])];
  const same = state.length === lastState.length && state.every((v, i) => v === lastState[i]);
  lastState = state;
  return !same;
}
for (const L of layers) ready(L);
function frame(now) {
  const dt = Math.min((now - last) / 1000, 0.25); last = now;
  for (const L of layers) ready(L);
  const want = clock_src.data.t[0];
  if (want !== lastT) { T = want; for (const L of layers) reseek(L, T); }
  if (play.active !== playing) {   // HTML labels while paused (readable, selectable), canvas ones while playing
    playing = play.active;
    for (const l of html_labels) l.visible = !playing;
    for (const l of canvas_labels) l.visible = playing;
  }
  if (play.active) {
    T += dt * speed.value;
    const maxT = Math.max(max_t, ...layers.map(L => L.maxT || 0));
    if (T > maxT) { T = 0; for (const L of layers) reseek(L, T); }
  }
  lastT = T;
  if (changed()) { for (const L of layers) move(L); repaintDots(now); } else findDotViews(now);
  const first = layers[0];
  window.__frontdoor.ptr = first.ptr; window.__frontdoor.w0 = first.W0; window.__frontdoor.w1 = first.W1;
  window.__frontdoor.ptr_b = layers.length > 1 ? layers[1].ptr : null;
  const day = Math.floor(T);
  if (day !== shown && (play.active ? frames % 6 === 0 : true)) {
    shown = day;
    const d = new Date(start_ms + day * 86400000);
    clock.text = "<span class='fd-clock'>" + d.toISOString().slice(0, 10) + "</span>";
  }
  if (play.active && now - lastSlider > 500) {   // the slider follows the clock; SEEK ignores this change
    lastSlider = now;
    window.__frontdoor_follow = true;
    try { time.value = Math.max(time.start, Math.min(time.end, day)); } finally { window.__frontdoor_follow = false; }
  }
  frames++;
  if (now - fpsStart >= 1000) {
    window.__frontdoor.fps = frames * 1000 / (now - fpsStart); window.__frontdoor.frames += frames;
    frames = 0; fpsStart = now;
  }
  window.__frontdoor.t = T; window.__frontdoor.playing = play.active;
  clock_src.data.t[0] = T; lastT = T;
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);
"""


def animation_callback(layers: list[tuple], clock, clock_src, play, speed, time, start_ms: float, max_t: float,
                       html_labels: list, canvas_labels: list, mapper) -> CustomJS:
    """The loop, for `layers`: (dots, segments, journeys) sources for each map, the first map's first; a later
    layer may start empty (the second map's, filled when a comparison is chosen). One clock moves them all."""
    return CustomJS(args=dict(layer_sources=[list(layer) for layer in layers], clock=clock, clock_src=clock_src,
                              play=play, speed=speed, time=time, start_ms=start_ms, max_t=max_t,
                              min_seconds=MIN_MOVE_SECONDS, html_labels=html_labels, canvas_labels=canvas_labels,
                              mapper=mapper, dot_size=DOT_SIZE, dot_alpha=DOT_ALPHA, dot_line=DOT_LINE,
                              dot_line_width=DOT_LINE_WIDTH),
                    code=LOOP)


# The time slider moves the clock: the loop sees the new time and repositions every dot (unless the
# loop itself moved the slider to follow the clock).
SEEK = "if (!window.__frontdoor_follow) { clock_src.data.t[0] = cb_obj.value; clock_src.change.emit(); }"

# Export the table on screen as CSV, in the browser: its columns' titles, its rows as shown.
EXPORT_CSV = r"""
const d = source.data, cols = columns.map(c => c[0]);
const esc = v => { let s = String(v ?? ''); if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
                   return /[",\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s; };
const n = cols.length ? d[cols[0]].length : 0, lines = [columns.map(c => esc(c[1])).join(',')];
for (let i = 0; i < n; i++) lines.push(cols.map(c => esc(d[c][i])).join(','));
const blob = new Blob([lines.join('\n') + '\n'], {type: 'text/csv'});
const a = document.createElement('a'); a.href = URL.createObjectURL(blob); a.download = filename;
document.body.appendChild(a); a.click(); a.remove();
"""
