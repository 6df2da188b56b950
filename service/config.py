"""Configuration: defaults, then environment variables prefixed FRONTDOOR_, then what the caller
passes to create_app(config=...). Nothing is read at import time."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULTS: dict = {
    "DATA_DIR": "frontdoor-data",
    "DATABASE_URL": None,  # default: SQLite file in DATA_DIR; also read from plain DATABASE_URL
    "REDIS_URL": None,  # set to run jobs on RQ workers (`frontdoor worker`)
    "QUEUE": "frontdoor",  # the RQ queue name (one per deployment sharing a Redis)
    "REQUIRED_APPROVALS": 2,
    "MAX_UPLOAD_MB": 200,
    "JOB_WORKERS": 1,  # jobs run at once by the local job process (or by in-process threads)
    "JOB_BACKEND": None,  # "local": a separate job process runs jobs (`frontdoor serve` sets it); default threads
    "JOB_STALE_SECONDS": 120,  # a running job with no heartbeat for this long has lost its worker
    "MAX_ACTIVE_JOBS_PER_USER": 3,  # jobs one user may have queued or running at once (more: 429)
    "TOKEN_DAYS": 365,
    "SESSION_MINUTES": 60,
    "SIGNIN_FAILURE_LIMIT": 10,  # failed sign-ins (pages or API) from one address in 10 minutes before 429s
    "RAW_UPLOAD_KEEP_HOURS": 0,  # raw uploads deleted this long after their ingest ends (0: at once; service.retention)
    "SECRET_KEY": None,  # signs session cookies (issue 7); generated into DATA_DIR if unset
    "PSEUDONYM_KEY": None,  # else DATA_DIR/pseudonym.key, created on first use
    "PUBLIC_URL": None,
    "VIEWER_URL": None,  # the map viewer behind the same proxy, e.g. https://frontdoor.example.gov.uk/viewer/
    "VIEWER_SECRET_KEY": None,  # shared with `frontdoor view --sign-sessions`: signs the viewer's session ids
    "TESTING": False,
}
INT_KEYS = {"REQUIRED_APPROVALS", "MAX_UPLOAD_MB", "JOB_WORKERS", "JOB_STALE_SECONDS", "TOKEN_DAYS", "SESSION_MINUTES",
            "SIGNIN_FAILURE_LIMIT", "RAW_UPLOAD_KEEP_HOURS", "MAX_ACTIVE_JOBS_PER_USER"}
BOOL_KEYS = {"TESTING"}


def load_config(overrides: dict | None = None) -> dict:
    cfg = dict(DEFAULTS)
    if os.environ.get("DATABASE_URL"):
        cfg["DATABASE_URL"] = os.environ["DATABASE_URL"]
    for key in DEFAULTS:
        env = os.environ.get(f"FRONTDOOR_{key}")
        if env is not None:
            cfg[key] = int(env) if key in INT_KEYS else env.lower() in ("1", "true", "yes") if key in BOOL_KEYS else env
    cfg.update(overrides or {})
    data_dir = Path(cfg["DATA_DIR"]).resolve()
    cfg["DATA_DIR"] = str(data_dir)
    if not cfg["DATABASE_URL"]:
        cfg["DATABASE_URL"] = f"sqlite:///{data_dir / 'frontdoor.db'}"
    if cfg["REQUIRED_APPROVALS"] < 1:
        raise ValueError("REQUIRED_APPROVALS must be at least 1")
    if int(cfg["RAW_UPLOAD_KEEP_HOURS"]) < 0:
        raise ValueError("RAW_UPLOAD_KEEP_HOURS must be 0 (delete raw uploads when their ingest ends) or more hours")
    from service.jobs import HEARTBEAT_SECONDS

    if cfg["JOB_STALE_SECONDS"] < 3 * HEARTBEAT_SECONDS:
        raise ValueError(f"JOB_STALE_SECONDS must be at least {3 * HEARTBEAT_SECONDS} (three heartbeats of "
                         f"{HEARTBEAT_SECONDS} s), or live jobs are failed as lost; it is {cfg['JOB_STALE_SECONDS']}")
    if cfg["JOB_BACKEND"] not in (None, "", "local", "inprocess"):
        raise ValueError(f"JOB_BACKEND must be 'local' or 'inprocess' (or unset), not {cfg['JOB_BACKEND']!r}")
    if cfg["VIEWER_SECRET_KEY"] is not None and len(cfg["VIEWER_SECRET_KEY"]) < 32:
        raise ValueError("VIEWER_SECRET_KEY must be at least 32 characters (Bokeh signs session ids with it)")
    return cfg
