"""Browser-side animation (see ../shared/notes/bokeh-animation.md): every dot's moves are sent to
the browser once; a requestAnimationFrame loop computes positions from the clock, writes the x/y
arrays in place and emits one change per frame. No server work per frame, and positions stay
right when frames drop."""

from bokeh.models import CustomJS

LOOP = r"""
const seg = segments.data;
const n = dots.data.x.length;
const ptr = new Int32Array(n);
const T0 = seg.t0, T1 = seg.t1, X0 = seg.x0, Y0 = seg.y0, X1 = seg.x1, Y1 = seg.y1;
const LO = dots.data.seg_lo, HI = dots.data.seg_hi, JX = dots.data.jx, JY = dots.data.jy;
let T = clock_src.data.t[0], last = performance.now(), lastT = T, shown = -1, frames = 0, fpsStart = last;
window.__frontdoor = {fps: 0, frames: 0, t: T, playing: false};
function seek(i, t) {            // first segment of dot i that has not ended by time t
  let lo = LO[i], hi = HI[i];
  while (lo < hi) { const mid = (lo + hi) >> 1; if (T1[mid] < t) lo = mid + 1; else hi = mid; }
  return lo;
}
for (let i = 0; i < n; i++) ptr[i] = seek(i, T);
function frame(now) {
  const dt = Math.min((now - last) / 1000, 0.25); last = now;
  const want = clock_src.data.t[0];
  if (want !== lastT) { T = want; for (let i = 0; i < n; i++) ptr[i] = seek(i, T); }
  if (play.active) { T += dt * speed.value; if (T > max_t) { T = 0; for (let i = 0; i < n; i++) ptr[i] = LO[i]; } }
  lastT = T;
  const dd = dots.data;  // read each frame: a server-side change (the filter's `visible`) replaces it
  const x = dd.x, y = dd.y, a = dd.alpha, vis = dd.visible;
  for (let i = 0; i < n; i++) {
    let p = ptr[i]; const hi = HI[i];
    while (p < hi && T1[p] < T) p++;
    ptr[i] = p;
    if (p >= hi || T < T0[p] || !vis[i]) { a[i] = 0; continue; }
    const span = T1[p] - T0[p];
    const f = span > 0 ? Math.min(Math.max((T - T0[p]) / span, 0), 1) : 1;
    x[i] = X0[p] + (X1[p] - X0[p]) * f + JX[i];
    y[i] = Y0[p] + (Y1[p] - Y0[p]) * f + JY[i];
    a[i] = 0.85;
  }
  dots.change.emit();
  const day = Math.floor(T);
  if (day !== shown && (play.active ? frames % 6 === 0 : true)) {
    shown = day;
    const d = new Date(start_ms + day * 86400000);
    clock.text = "<span class='fd-clock'>" + d.toISOString().slice(0, 10) + "</span>";
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


def animation_callback(dots, segments, clock, clock_src, play, speed, start_ms: float, max_t: float) -> CustomJS:
    return CustomJS(args=dict(dots=dots, segments=segments, clock=clock, clock_src=clock_src, play=play, speed=speed,
                              start_ms=start_ms, max_t=max_t), code=LOOP)


# The time slider moves the clock: the loop sees the new time and repositions every dot.
SEEK = "clock_src.data.t[0] = cb_obj.value; clock_src.change.emit();"

# Export the current table as CSV, in the browser.
EXPORT_CSV = r"""
const d = source.data, cols = Object.keys(d).filter(c => c !== 'route' && c !== 'index');
const esc = v => { let s = String(v ?? ''); if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
                   return /[",\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s; };
const n = d[cols[0]].length, lines = [cols.join(',')];
for (let i = 0; i < n; i++) lines.push(cols.map(c => esc(d[c][i])).join(','));
const blob = new Blob([lines.join('\n') + '\n'], {type: 'text/csv'});
const a = document.createElement('a'); a.href = URL.createObjectURL(blob); a.download = filename;
document.body.appendChild(a); a.click(); a.remove();
"""
