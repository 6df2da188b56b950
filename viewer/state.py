"""Releases loaded once per server (app_hooks), shared by every browser session."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

RELEASES: dict = {}  # release id -> viewer.data.Release
ERRORS: list[str] = []
LOADED: list[bool] = []  # non-empty once load_all ran in this process

ENV_BUNDLES = "FRONTDOOR_VIEW_BUNDLES"
ENV_API = "FRONTDOOR_VIEW_API"
ENV_TOKEN = "FRONTDOOR_VIEW_TOKEN"
ENV_RELEASES = "FRONTDOOR_VIEW_RELEASES"
ENV_MAX_DOTS = "FRONTDOOR_VIEW_MAX_DOTS"
MAX_API_RELEASES = 4


class ViewerError(Exception):
    """Something the person starting the viewer can fix; shown as one sentence."""


def fetch_from_api(api: str, token: str, release_ids: list[str], cache: Path) -> list[Path]:
    """Download published release bundles from the service's developer API."""
    import requests

    api = api.rstrip("/")
    headers = {"Authorization": f"Bearer {token}"}
    try:
        if not release_ids:
            r = requests.get(f"{api}/releases", headers=headers, timeout=30)
            _check(r, "list releases")
            release_ids = [x["id"] for x in r.json()["releases"] if x["state"] == "published"][:MAX_API_RELEASES]
            if not release_ids:
                raise ViewerError(f"the service at {api} has no published release to show.")
        paths = []
        for rid in release_ids:
            r = requests.get(f"{api}/releases/{rid}/bundle", headers=headers, timeout=300, stream=True)
            _check(r, f"download release {rid}")
            path = cache / f"{rid}.zip"
            with open(path, "wb") as f:
                for chunk in r.iter_content(1 << 20):
                    f.write(chunk)
            paths.append(path)
        return paths
    except requests.ConnectionError:
        raise ViewerError(f"cannot reach the service at {api}; check the address and that it is running.") from None
    except requests.Timeout:
        raise ViewerError(f"the service at {api} did not answer in time.") from None


def _check(r, what: str) -> None:
    if r.status_code == 200:
        return
    try:
        message = r.json().get("error", "")
    except ValueError:
        message = r.text[:200]
    if r.status_code == 401:
        raise ViewerError(f"the service refused the token ({message}); use a valid developer token.")
    if r.status_code in (404, 409, 410):
        raise ViewerError(f"cannot {what}: {message} Only published releases can be viewed.")
    raise ViewerError(f"cannot {what}: the service answered {r.status_code} ({message}).")


def load_all() -> None:
    """Fill RELEASES from the environment (set by `frontdoor view`); failures go to ERRORS."""
    from synth.bundle import BundleError, read_bundle
    from viewer.data import MAX_DOTS, load_release

    RELEASES.clear()
    ERRORS.clear()
    LOADED[:] = [True]
    max_dots = int(os.environ.get(ENV_MAX_DOTS) or MAX_DOTS)
    try:
        paths = [Path(p) for p in os.environ.get(ENV_BUNDLES, "").split(os.pathsep) if p]
        if os.environ.get(ENV_API):
            cache = Path(tempfile.mkdtemp(prefix="frontdoor-view-"))
            ids = [x for x in os.environ.get(ENV_RELEASES, "").split(",") if x]
            paths += fetch_from_api(os.environ[ENV_API], os.environ.get(ENV_TOKEN, ""), ids, cache)
        if not paths:
            raise ViewerError("no release to show: start the viewer with --bundle PATH or --api URL --token T.")
        for path in paths:
            release = load_release(read_bundle(path), max_dots=max_dots)
            from viewer.callbacks import dot_columns

            if release.animated:  # an aggregate release has no dots
                dot_columns(release)  # shaped once here, not in every browser session
            RELEASES[release.release_id] = release
    except (ViewerError, BundleError) as exc:
        ERRORS.append(str(exc) if isinstance(exc, ViewerError) else exc.message)
