"""Surrogate artifacts: a fitted surrogate as one safe, checksummed file (never pickle).

A file is one line of JSON (format, version, surrogate name, hyperparameters, space,
learned scalars, payload size, SHA-256) followed by an ``.npz`` archive of plain numeric
arrays, read with ``allow_pickle=False`` (an XGBoost booster travels as its own JSON
model, stored as bytes in the archive). The checksum covers the payload and the rest of
the header, so a tampered or truncated file fails with one :class:`ArtifactError`. The
bytes depend only on the model (sorted keys, fixed zip timestamps), so the same fit
saves to the same file.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.core.errors import ConfigError, NasbenchError
from nasbench.core.space import CellSpace
from nasbench.prediction.base import Surrogate, param_from_json, param_to_json
from nasbench.prediction.registry import get_surrogate_class

__all__ = ["ARTIFACT_FORMAT", "ARTIFACT_VERSION", "ArtifactError", "load_surrogate", "save_surrogate"]

ARTIFACT_FORMAT = "nasbench-surrogate"
ARTIFACT_VERSION = 1


class ArtifactError(NasbenchError):
    """A surrogate artifact is missing, truncated, tampered with or of an unknown format."""


def _canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _digest(header: dict[str, Any], payload: bytes) -> str:
    body = {k: v for k, v in header.items() if k != "sha256"}
    return hashlib.sha256(_canonical_json(body) + b"\n" + payload).hexdigest()


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An .npz archive with fixed timestamps (reproducible bytes), numeric arrays only."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key in sorted(arrays):
            array = np.ascontiguousarray(arrays[key])
            if array.dtype.hasobject or array.dtype.kind not in "biufc":
                raise ConfigError(
                    f"artifact array {key!r} has dtype {array.dtype}; only numeric arrays are saved"
                )
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, array, allow_pickle=False)
    return buffer.getvalue()


def save_surrogate(model: Surrogate, path: str | os.PathLike[str]) -> Path:
    """Write a fitted, registered surrogate to ``path``; what :meth:`Surrogate.save` does."""
    model._check_fitted()
    if not type(model).name:
        raise ConfigError(
            f"{type(model).__name__} is not registered: only registered surrogates can be saved"
        )
    state, arrays = model._get_state()
    payload = _npz_bytes(arrays)
    header: dict[str, Any] = {
        "format": ARTIFACT_FORMAT,
        "version": ARTIFACT_VERSION,
        "surrogate": type(model).name,
        "hyperparameters": {k: param_to_json(v) for k, v in model.get_params().items()},
        "space": model.space_.to_dict(),
        "state": state,
        "payload": {"type": "npz", "bytes": len(payload)},
    }
    header["sha256"] = _digest(header, payload)
    target = Path(path)
    target.write_bytes(_canonical_json(header) + b"\n" + payload)
    return target


def _read_header(raw: bytes, where: str) -> tuple[dict[str, Any], bytes]:
    """The checked header and the payload of an artifact's bytes."""
    end = raw.find(b"\n")
    try:
        header = json.loads(raw[:end].decode("utf-8")) if end >= 0 else None
    except (UnicodeDecodeError, ValueError):
        header = None
    if not isinstance(header, dict) or header.get("format") != ARTIFACT_FORMAT:
        raise ArtifactError(f"{where}: not a nasbench surrogate artifact (no valid header line)")
    if header.get("version") != ARTIFACT_VERSION:
        raise ArtifactError(
            f"{where}: artifact version {header.get('version')!r}, "
            f"this package reads version {ARTIFACT_VERSION}"
        )
    payload = raw[end + 1 :]
    expected = header.get("payload", {}).get("bytes") if isinstance(header.get("payload"), dict) else None
    if expected != len(payload):
        raise ArtifactError(
            f"{where}: truncated or damaged artifact "
            f"(payload has {len(payload)} bytes, header says {expected})"
        )
    try:
        digest = _digest(header, payload)
    except (TypeError, ValueError):
        digest = None
    if digest is None or digest != header.get("sha256"):
        raise ArtifactError(f"{where}: checksum mismatch: the artifact was modified or damaged")
    return header, payload


def load_surrogate(path: str | os.PathLike[str]) -> Surrogate:
    """Read a surrogate written by :meth:`Surrogate.save`; it predicts exactly as the saved one.

    Raises :class:`ArtifactError` for a missing, truncated, tampered or foreign file.
    """
    where = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ArtifactError(f"{where}: cannot read surrogate artifact ({exc.strerror or exc})") from None
    header, payload = _read_header(raw, where)
    try:
        cls = get_surrogate_class(str(header["surrogate"]))
        params = {k: param_from_json(v) for k, v in header["hyperparameters"].items()}
        model = cls(**params)
        space = CellSpace.from_dict(header["space"])
        with np.load(io.BytesIO(payload), allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
        model.space_ = space
        model._set_state(header["state"], arrays)
    except ArtifactError:
        raise
    except Exception as exc:  # a consistent checksum but unusable content
        raise ArtifactError(f"{where}: cannot rebuild the surrogate ({type(exc).__name__}: {exc})") from None
    return model
