"""Work a dead job left in tmp/ (a killed release build leaves synthetic tables there) is removed once a
day old, at the service's start and by the job process; a running job's work, younger, stays."""

from __future__ import annotations

import os
import time

from tests.service.conftest import close_env, make_env


def _leftover(root, name: str, age_hours: float):
    folder = root / "data" / "tmp" / name
    (folder / "synthetic").mkdir(parents=True)
    table = folder / "synthetic" / "events.parquet"
    table.write_bytes(b"x" * 100)
    then = time.time() - age_hours * 3600
    for p in (table, folder / "synthetic", folder):
        os.utime(p, (then, then))
    return folder


def test_the_service_removes_what_dead_jobs_left_in_tmp_and_keeps_running_work(tmp_path):
    dead = _leftover(tmp_path, "release-deadbeef", 30)
    stale_file = tmp_path / "data" / "tmp" / "upload-0badf00d"
    stale_file.write_bytes(b"raw")
    os.utime(stale_file, (time.time() - 48 * 3600,) * 2)
    running = _leftover(tmp_path, "release-c0ffee00", 30)
    (running / "synthetic" / "children.parquet").write_bytes(b"just written")  # a job still writing here
    young = _leftover(tmp_path, "model-12345678", 1)
    env = make_env(tmp_path, "sqlite")
    try:
        assert not dead.exists() and not stale_file.exists()
        assert running.exists() and young.exists()
        assert env.store.sweep_tmp(older_than_hours=0.5) == 1  # the hour-old one, now judged older than the limit
        assert not young.exists() and running.exists()
    finally:
        close_env(env)
