"""The application factory. Nothing is read or opened at import time."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask import Flask

from service.api.published_catalogue import PublishedCatalogue
from service.config import load_config
from service.store import Store

log = logging.getLogger(__name__)


@dataclass
class Services:
    store: Store
    runner: object
    published_catalogue: PublishedCatalogue = field(default_factory=PublishedCatalogue)


def create_app(config: dict | None = None) -> Flask:
    cfg = load_config(config)
    app = Flask(__name__)
    app.config["FRONTDOOR"] = cfg
    app.config["TESTING"] = bool(cfg.get("TESTING"))
    app.config["MAX_CONTENT_LENGTH"] = int(cfg["MAX_UPLOAD_MB"]) * 1024 * 1024
    app.config["MAX_FORM_MEMORY_SIZE"] = 1024 * 1024
    app.json.sort_keys = False

    store = Store(cfg)
    store.init()
    app.config["SECRET_KEY"] = store.secret("secret", cfg.get("SECRET_KEY"))

    from service import jobs

    runner = jobs.make_runner(store)
    app.extensions["frontdoor"] = Services(store, runner)
    from service.throttle import FailedSignIns

    app.extensions["frontdoor_signins"] = FailedSignIns(int(cfg.get("SIGNIN_FAILURE_LIMIT") or 10))
    # Jobs of an earlier run of this service, cut short when it stopped, end failed (and can be retried);
    # jobs still queued in this process's own pool are queued again (running one twice is harmless: only
    # one process can take a queued job).
    jobs.reap_stale_jobs(store)
    store.sweep_tmp()  # half-made work of jobs that died, once a day old (a running job's is younger)
    if runner.backend == "inprocess":
        jobs.resubmit_queued(store, runner)
    from service import retention

    retention.start(store)  # raw uploads past RAW_UPLOAD_KEEP_HOURS are deleted now, then swept regularly

    from service import api

    api.init_app(app)
    from service import web

    web.init_app(app)
    log.info("Frontdoor service ready (data in %s, jobs %s)", cfg["DATA_DIR"], runner.backend)
    return app
