"""A full disk is said as such (507, "the service's disk is full ... tell the operator"), never "internal
error", and nothing is half-stored; once space is freed the service works again. The data directory and its
SQLite database sit on a real, small tmpfs filled to the last byte (needs root to mount; skipped otherwise)."""

from __future__ import annotations

import os
import subprocess

import pytest

from service.orm import Dataset
from tests.service.conftest import close_env, make_env, published_release, upload


@pytest.fixture
def small_disk(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", str(disk)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _fill(disk) -> object:
    """Write zeros until the disk refuses another byte (unbuffered, so nothing is left to flush)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


@pytest.mark.slow
def test_a_full_disk_is_named_and_nothing_is_half_stored(small_disk, council_file):
    env = make_env(small_disk, "sqlite")
    try:
        ids = published_release(env, council_file)
        filler = _fill(small_disk)
        r = upload(env, council_file)
        body = r.get_json()
        assert r.status_code == 507, body
        assert "disk is full" in body["error"] and "operator" in body["error"]
        with env.store.read() as s:
            assert s.query(Dataset).count() == 1  # the published release's own dataset only
        assert list((env.data_dir / "tmp").iterdir()) == []
        download = env.client.get(f"/api/v1/releases/{ids['release']}/bundle", headers=env.h("dev"))
        assert download.status_code in (200, 507), download.status_code  # never a 500
        if download.status_code == 507:
            assert "disk is full" in download.get_json()["error"]
        os.remove(filler)
        again = upload(env, council_file)
        assert again.status_code == 202, again.get_json()
        assert env.wait(again.get_json()["job"]["id"])["status"] == "succeeded"
    finally:
        close_env(env)
