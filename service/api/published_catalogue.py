"""The list of published releases as developers see it, serialised once and kept until it changes.

Developers are the busy readers of the API (issue 5's load test: 50 clients listing and downloading), and
what they may list is the same for every developer of a council and changes only when a release changes. Each serving
process keeps the serialised list together with the store's release-catalogue version (a token in a
file the store replaces after every committed release change, so processes on other machines sharing the
data directory see it too), one list per council, and rebuilds it when the version moves. MAX_AGE_SECONDS bounds how long a
list is kept even so, in case the database was changed behind the service's back.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Hashable

MAX_AGE_SECONDS = 10.0


class PublishedCatalogue:
    def __init__(self, max_age: float = MAX_AGE_SECONDS) -> None:
        self.max_age = max_age
        self._lock = threading.Lock()
        self._kept: dict[int, tuple[Hashable, float, bytes, str]] = {}

    def get(self, council_id: int, version: Hashable, build: Callable[[], dict]) -> tuple[bytes, str]:
        """The JSON body and its ETag of a council's list at this catalogue version; `build` makes the
        listing when needed (a list is never served to another council's developers)."""
        with self._lock:
            kept = self._kept.get(council_id)
        if kept is not None and kept[0] == version and time.monotonic() < kept[1]:
            return kept[2], kept[3]
        body = json.dumps(build(), separators=(",", ":")).encode()
        etag = hashlib.sha256(body).hexdigest()[:32]
        with self._lock:
            self._kept[council_id] = (version, time.monotonic() + self.max_age, body, etag)
        return body, etag
