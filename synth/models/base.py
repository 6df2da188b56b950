"""The generator interface: fit on a dataset's training children, sample synthetic tables,
save to one signed file, load it back.

A saved model derives from raw data and is governed like it. Its file is a zip holding
`model.json` (generator, parameters, the dataset's lineage hash, library versions, privacy
budget, a sha256 of every other entry) and the model's state. `model.json` is signed with an
HMAC keyed from the service's secret, so `load` refuses any file this installation did not write
(before any state, some of it pickled by SDV, is read).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import uuid
import zipfile
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path

import pandas as pd

from synth.errors import ModelError

MODEL_FORMAT = "frontdoor-model"
MODEL_FORMAT_VERSION = 1
VERSIONED_LIBRARIES = ("frontdoor", "sdv", "pandas", "numpy", "scipy", "torch")


@dataclass
class TrainingSpec:
    """What to train. Validated once by `fit_model`."""

    generator: str = "journey"
    epsilon: float | None = None  # differential privacy budget; None means not private
    delta: float | None = None
    attributes: str = "gaussian_copula"  # child attributes synthesizer: gaussian_copula | ctgan
    min_children: int = 20  # a context needs this many children before the model uses it
    rare_threshold: int = 10  # categories with fewer children are merged before fitting
    epochs: int | None = None  # for neural synthesizers (ctgan, sdv-par)
    seed: int = 0
    # The extract window the council declares (ISO dates, both included). Required with epsilon: a
    # window read off the data (its first contact, its last event) would be a real figure that sets
    # the model's shape; a declared one is public. Without epsilon, None means "from the data".
    window_start: str | None = None
    window_end: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Window:
    """The calendar window the data covers: journeys are sampled inside it."""

    start: pd.Timestamp
    end: pd.Timestamp

    def to_dict(self) -> dict:
        return {"start": str(self.start.date()), "end": str(self.end.date())}

    @classmethod
    def from_dict(cls, d: dict) -> Window:
        return cls(pd.Timestamp(d["start"]), pd.Timestamp(d["end"]))


@dataclass
class SyntheticTables:
    children: pd.DataFrame
    events: pd.DataFrame
    episodes: pd.DataFrame


class Generator(ABC):
    """A fitted generator. Implementations keep their state as JSON plus named files."""

    name: str = ""

    @abstractmethod
    def sample(self, n_children: int, seed: int) -> SyntheticTables: ...

    @abstractmethod
    def state(self) -> tuple[dict, dict[str, bytes]]:
        """(JSON-able parameters, {file name: bytes}) from which `from_state` rebuilds it."""

    @classmethod
    @abstractmethod
    def from_state(cls, params: dict, files: dict[str, bytes]) -> Generator: ...

    def privacy(self) -> dict | None:
        """The differential privacy accounting, or None when the model is not private."""
        return None


@dataclass
class FittedModel:
    generator: Generator
    spec: TrainingSpec
    lineage_hash: str
    window: Window
    training_children: int
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    versions: dict = field(default_factory=dict)
    model_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def sample(self, n_children: int, seed: int = 0) -> SyntheticTables:
        if not isinstance(n_children, int) or n_children < 1:
            raise ModelError(f"cannot sample {n_children} children: ask for at least 1.")
        return self.generator.sample(n_children, seed)

    def describe(self) -> dict:
        return {
            "format": MODEL_FORMAT, "version": MODEL_FORMAT_VERSION, "model_id": self.model_id,
            "generator": self.generator.name, "spec": self.spec.to_dict(), "lineage_hash": self.lineage_hash,
            "window": self.window.to_dict(), "training_children": self.training_children,
            "created_at": self.created_at, "versions": self.versions or library_versions(),
            "privacy": self.generator.privacy(),
        }

    # -- persistence --------------------------------------------------------------------------
    def save(self, path: Path, signing_key: bytes) -> Path:
        """Write the model to one file, atomically."""
        path = Path(path)
        params, files = self.generator.state()
        meta = {**self.describe(), "params": params,
                "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}}
        body = json.dumps(meta, sort_keys=True, default=str).encode()
        signature = hmac.new(signing_key, body, hashlib.sha256).hexdigest()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
        try:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                zf.writestr("model.json", body)
                zf.writestr("model.sig", signature)
                for name, data in files.items():
                    zf.writestr(f"state/{name}", data)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return path


def library_versions() -> dict:
    out = {}
    for lib in VERSIONED_LIBRARIES:
        try:
            out[lib] = importlib_metadata.version(lib)
        except importlib_metadata.PackageNotFoundError:
            out[lib] = None
    return out


def signing_key_from(secret: bytes) -> bytes:
    """The key that signs model files, derived from the service's secret (the pseudonym key)."""
    return hmac.new(secret, b"frontdoor model signing key", hashlib.sha256).digest()


def read_model_file(path: Path, signing_key: bytes) -> tuple[dict, dict[str, bytes]]:
    """Verified (metadata, state files) of a saved model; refuses anything else with a clear error."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such model file; train one with `frontdoor train`.")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if not {"model.json", "model.sig"} <= names:
                raise ModelError(f"{path}: not a Frontdoor model file.")
            body = zf.read("model.json")
            signature = zf.read("model.sig").decode().strip()
            expected = hmac.new(signing_key, body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(signature, expected):
                raise ModelError(f"{path}: the model's signature does not match: it was not written by this "
                                 "installation or has been changed since. Train the model again.")
            meta = json.loads(body)
            files = {}
            for name, digest in meta.get("files", {}).items():
                data = zf.read(f"state/{name}")
                if hashlib.sha256(data).hexdigest() != digest:
                    raise ModelError(f"{path}: the model file is damaged (checksum of {name} differs). "
                                     "Train the model again.")
                files[name] = data
    except (zipfile.BadZipFile, KeyError, OSError, json.JSONDecodeError, UnicodeDecodeError):
        raise ModelError(f"{path}: not a Frontdoor model file, or a damaged one. Train the model again.") from None
    if meta.get("format") != MODEL_FORMAT or meta.get("version") != MODEL_FORMAT_VERSION:
        raise ModelError(f"{path}: a model format this version of Frontdoor cannot read; train it again.")
    return meta, files


def frame_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def frame_from_bytes(data: bytes) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(data))
