"""The local job process: without Redis, `frontdoor serve` runs jobs in one process of their own beside
gunicorn (`frontdoor worker --local`) rather than in threads inside the web workers, so that a long
training shares neither a web worker's cores nor its memory nor its lifetime (a web worker recycled or
killed mid-request no longer takes a training with it).

`JobProcess` is the supervisor `serve` keeps in gunicorn's master: it starts the job process, starts it
again if it dies (a job it was running ends failed once its heartbeat is stale, and can be retried), and
stops it when the service stops. `run_job_process` is the job process itself."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time

from service import jobs
from service.store import Store

log = logging.getLogger(__name__)
REAP_SECONDS = 60  # the job process fails jobs whose worker died this often (and at its start)
RESTART_DELAY_SECONDS = 2.0


def run_job_process(store: Store, stop: threading.Event | None = None) -> None:
    """Run queued local jobs with JOB_WORKERS threads until SIGTERM/SIGINT (or `stop`); on stop, wait a
    little for the jobs in hand, then leave (a job cut short ends failed when its heartbeat is stale)."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    n = max(1, int(store.cfg.get("JOB_WORKERS", 1)))
    loops = [threading.Thread(target=jobs.run_local_jobs, args=(store, stop), name=f"frontdoor-job-{i}", daemon=True)
             for i in range(n)]
    for loop in loops:
        loop.start()
    log.info("Frontdoor job process ready (%d at once)", n)
    while not stop.is_set():
        jobs.reap_stale_jobs(store)  # a job of a process that died ends failed without anyone polling it
        store.sweep_tmp()  # and what it left half-made in tmp/ goes a day later
        stop.wait(REAP_SECONDS)
    for loop in loops:
        loop.join(timeout=30 / n)


class JobProcess:
    """`frontdoor worker --local`, kept running: started again whenever it exits while the service runs."""

    def __init__(self, env: dict | None = None):
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.stopping = threading.Event()
        self.starts = 0
        self._watch = threading.Thread(target=self._keep_running, name="frontdoor-job-process", daemon=True)

    def start(self) -> JobProcess:
        self._spawn()
        self._watch.start()
        return self

    def _spawn(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "service.cli", "worker", "--local"], env=self.env)
        self.starts += 1

    def _keep_running(self) -> None:
        while not self.stopping.is_set():
            code = self.proc.wait()
            if self.stopping.is_set():
                return
            log.warning("the job process stopped (exit %s); starting it again", code)
            time.sleep(RESTART_DELAY_SECONDS)
            if not self.stopping.is_set():
                self._spawn()

    def stop(self, timeout: float = 40) -> None:
        self.stopping.set()
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
