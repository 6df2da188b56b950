"""Issue 6 benchmark: the viewer on a 150,000-children release in headless Chromium: first
meaningful render, frames per second with 5,000 animated dots, memory per browser session.
Also writes the README's screenshot (viewer/screenshot.png)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.bench.gate_bench import bundle_150k

ROOT = Path(__file__).resolve().parents[2]
DOTS = 5000
PORT = 5097
SECONDS = 10


def _rss_mib(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(work: Path) -> str:
    from tests.viewer.conftest import MODEL, chrome, wait_for

    bundle = bundle_150k(work)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "service.cli", "view", "--bundle", str(bundle), "--port", str(PORT),
                             "--max-dots", str(DOTS)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
            driver.save_screenshot(str(ROOT / "viewer" / "screenshot.png"))
        finally:
            driver.quit()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    fps = sum(readings) / len(readings)
    ok = first_render_ms <= 3000 and fps >= 30 and n_dots >= DOTS
    return f"""## Viewer on a 150,000-children release (issue 6)

Command: `python -m tests.bench.run viewer` (`frontdoor view --bundle` on the gate benchmark's 150,000-children
release, {DOTS:,} dots animated; headless Chromium from Debian, 1366x768, software rendering, canvas backend;
the page's own frame counter, `window.__frontdoor.fps`, read once a second for {SECONDS} s while playing).
Target: first meaningful render within 3 s; at least 5,000 dots at 30 frames per second or better.

| measure | value |
|---|---|
| viewer start-up (load and verify the bundle, shape the dots, build one page unseen) | {startup:.1f} s |
| first meaningful render (map and dots drawn, from navigation) | {first_render_ms / 1000:.2f} s |
| animation running (first frame of the browser loop) | {animating_ms / 1000:.2f} s |
| dots animated | {n_dots:,} |
| frames per second while playing (mean of {SECONDS} readings) | {fps:.1f} (min {min(readings):.1f}, max {max(readings):.1f}) |
| browser JS heap per session | {'n/a' if heap is None else f'{heap / 1e6:.0f} MB'} |
| viewer server memory: idle / with one session | {rss_idle:.0f} / {rss_session:.0f} MiB |

Meets target: {'yes' if ok else 'NO'}. The screenshot in the README (`viewer/screenshot.png`) is taken by this run."""
