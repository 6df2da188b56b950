"""Issues 6 and 15.7 benchmark: the viewer on a 150,000-children release in headless Chromium, at
5,000, 20,000 and 50,000 animated dots: first meaningful render, frames per second while playing,
memory per browser session. Also writes the README's screenshot (viewer/screenshot.png, 5,000 dots)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.bench.gate_bench import bundle_150k

ROOT = Path(__file__).resolve().parents[2]
DOT_COUNTS = (5000, 20000, 50000)
TARGET_FPS = {5000: 30.0, 20000: 30.0, 50000: 25.0}  # issue 15.7; first render within 3 s at every size
PORT = 5097
SECONDS = 10


def _rss_mib(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(bundle: Path, dots: int, screenshot: Path | None = None) -> dict:
    """Start `frontdoor view` with `dots` animated dots, open the page at 1366x768, play for SECONDS."""
    from tests.viewer.conftest import MODEL, chrome, wait_for

    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "service.cli", "view", "--bundle", str(bundle), "--port", str(PORT),
                             "--max-dots", str(dots)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError("the viewer did not start") from None
                time.sleep(0.2)
        startup = time.perf_counter() - t0
        rss_idle = _rss_mib(proc.pid)
        driver = chrome()
        try:
            driver.set_window_size(1366, 768)
            driver.get(f"http://localhost:{PORT}/")
            # The map's stages and the dots at their first positions arrive (and are painted) together.
            wait_for(driver, f"return !!(window.Bokeh && Bokeh.documents.length && {MODEL}('map_nodes') && "
                             f"Array.from({MODEL}('dots').data.alpha).some(a => a > 0))", 60)
            first_render_ms = driver.execute_script("return performance.now()")
            wait_for(driver, "return window.__frontdoor && window.__frontdoor.frames > 0", 60)
            animating_ms = driver.execute_script("return performance.now()")
            n_dots = driver.execute_script(f"return {MODEL}('dots').data.x.length")
            driver.execute_script(f"{MODEL}('play').active = true")
            time.sleep(2)
            readings = []
            for _ in range(SECONDS):
                time.sleep(1)
                readings.append(driver.execute_script("return window.__frontdoor.fps"))
            heap = driver.execute_script("return performance.memory ? performance.memory.usedJSHeapSize : null")
            rss_session = _rss_mib(proc.pid)
            if screenshot is not None:
                driver.save_screenshot(str(screenshot))
        finally:
            driver.quit()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return {"dots": dots, "n_dots": n_dots, "startup": startup, "first_render_ms": first_render_ms,
            "animating_ms": animating_ms, "fps": sum(readings) / len(readings), "fps_min": min(readings),
            "fps_max": max(readings), "heap": heap, "rss_idle": rss_idle, "rss_session": rss_session}


def run(work: Path) -> str:
    bundle = bundle_150k(work)
    results = [measure(bundle, n, ROOT / "viewer" / "screenshot.png" if n == DOT_COUNTS[0] else None)
               for n in DOT_COUNTS]
    rows = []
    for r in results:
        ok = r["first_render_ms"] <= 3000 and r["fps"] >= TARGET_FPS[r["dots"]] and r["n_dots"] >= r["dots"]
        heap = "n/a" if r["heap"] is None else f"{r['heap'] / 1e6:.0f} MB"
        rows.append(f"| {r['n_dots']:,} | {r['startup']:.1f} s | {r['first_render_ms'] / 1000:.2f} s | "
                    f"{r['animating_ms'] / 1000:.2f} s | {r['fps']:.1f} (min {r['fps_min']:.1f}, max "
                    f"{r['fps_max']:.1f}) | {TARGET_FPS[r['dots']]:.0f} | {heap} | {r['rss_idle']:.0f} / "
                    f"{r['rss_session']:.0f} MiB | {'yes' if ok else 'NO'} |")
    table = "\n".join(rows)
    return f"""## Viewer on a 150,000-children release (issues 6 and 15.7)

Command: `python -m tests.bench.run viewer` (`frontdoor view --bundle --max-dots N` on the gate benchmark's
150,000-children release; headless Chromium from Debian, 1366x768, software rendering, canvas backend; the
page's own frame counter, `window.__frontdoor.fps`, read once a second for {SECONDS} s while playing).
Targets: first meaningful render within 3 s; frames per second as in the table.

| dots animated | viewer start-up | first meaningful render | animation running | frames per second while playing | target fps | JS heap per session | server memory idle / one session | meets target |
|---|---|---|---|---|---|---|---|---|
{table}

Start-up: load and verify the bundle, shape the dots, build one page unseen. First meaningful render: the map
and the dots drawn, from navigation. The screenshot in the README (`viewer/screenshot.png`, {DOT_COUNTS[0]:,}
dots) is taken by this run."""
