"""Screenshots of the viewer for the README: the dot map, the subway view and a side-by-side comparison,
taken in headless Chromium at 1366x768 from real release bundles.

    python -m tests.viewer.screenshots BUNDLE OTHER_BUNDLE [--out viewer]

writes screenshot_dots.png, screenshot_subway.png and screenshot_compare.png into --out."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tests.viewer.conftest import MODEL, chrome, serve_viewer, wait_for


def take(bundle: Path, other: Path, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    served = serve_viewer(bundle, other)
    url = next(served)
    driver = chrome()
    shots = []
    try:
        driver.set_window_size(1366, 768)
        driver.get(url)
        wait_for(driver, "return window.__frontdoor && window.__frontdoor.frames > 0", 60)
        driver.execute_script(f"{MODEL}('play').active = true")
        time.sleep(4)
        driver.execute_script(f"{MODEL}('play').active = false")
        time.sleep(0.5)
        shots.append(out / "screenshot_dots.png")
        driver.save_screenshot(str(shots[-1]))
        driver.execute_script(f"{MODEL}('view_mode').active = 1")
        wait_for(driver, f"return {MODEL}('map_routes').glyph.xs.field === 'sxs'")
        time.sleep(0.5)
        shots.append(out / "screenshot_subway.png")
        driver.save_screenshot(str(shots[-1]))
        driver.execute_script(f"{MODEL}('view_mode').active = 0")
        other_id = driver.execute_script(f"return {MODEL}('compare').options.map(o => o[0])"
                                         ".find(o => o.startsWith('release:'))")
        driver.execute_script(f"{MODEL}('compare').value = {other_id!r}")
        wait_for(driver, f"return !!{MODEL}('map_b')")
        time.sleep(1.5)
        shots.append(out / "screenshot_compare.png")
        driver.save_screenshot(str(shots[-1]))
    finally:
        driver.quit()
        for _ in served:
            pass
    return shots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("other", type=Path)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[2] / "viewer")
    args = parser.parse_args()
    for path in take(args.bundle, args.other, args.out):
        print(path)


if __name__ == "__main__":
    main()
