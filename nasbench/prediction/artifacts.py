"""Surrogate artifacts: a fitted surrogate as one safe, checksummed file (never pickle).

A file is one line of JSON (format, version, surrogate name, hyperparameters, space,
learned scalars, payload size, SHA-256) followed by an ``.npz`` archive of plain numeric
arrays, read with ``allow_pickle=False`` (an XGBoost booster travels as its own JSON
model, stored as bytes in the archive). The checksum covers the payload and the rest of
the header, so a tampered or truncated file fails with one :class:`ArtifactError`. The
bytes depend only on the model (sorted keys, fixed zip timestamps), so the same fit
saves to the same file. The header also records who provides the surrogate's class
(distribution and version, :func:`~nasbench.core.registry.class_provider`), since a name
alone does not say whose code was fitted.

Files are written atomically: to a temporary sibling, then renamed into place, so a full
disk or an interrupt leaves the earlier file (or nothing) and no partial one. A directory
of artifacts (a surrogate benchmark) is written the same way as a whole by
:func:`write_artifact_directory`, which replaces an existing directory only if every file
in it is one such a save writes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import uuid
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.core.errors import ConfigError, NasbenchError
from nasbench.core.registry import class_provider
from nasbench.core.space import CellSpace
from nasbench.prediction.base import Surrogate, param_from_json, param_to_json
from nasbench.prediction.registry import ENTRY_POINT_GROUP, get_surrogate_class

__all__ = [
    "ARTIFACT_FORMAT",
    "ARTIFACT_VERSION",
    "ArtifactError",
    "artifact_bytes",
    "check_artifact_directory",
    "load_surrogate",
    "save_surrogate",
    "write_artifact_directory",
]

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


def artifact_bytes(model: Surrogate) -> bytes:
    """The artifact of a fitted, registered surrogate: what :func:`save_surrogate` writes."""
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
        "provider": class_provider(type(model), ENTRY_POINT_GROUP),
    }
    header["sha256"] = _digest(header, payload)
    return _canonical_json(header) + b"\n" + payload


def _temporary_sibling(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def _write_synced(path: Path, data: bytes) -> None:
    """Write the new file ``path`` and flush it to disk."""
    with open(path, "xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def save_surrogate(model: Surrogate, path: str | os.PathLike[str]) -> Path:
    """Write a fitted, registered surrogate to ``path``; what :meth:`Surrogate.save` does.

    Atomic: written to a temporary sibling, then renamed over ``path``; on any error
    (a full disk: one-line :class:`~nasbench.core.errors.ConfigError`) ``path`` is as it was."""
    data = artifact_bytes(model)
    target = Path(path)
    if target.is_dir():
        raise ConfigError(f"{target}: is a directory; a surrogate artifact is one file")
    temporary = _temporary_sibling(target)
    try:
        _write_synced(temporary, data)
        os.replace(temporary, target)
    except OSError as exc:
        raise ConfigError(f"{target}: cannot write the surrogate artifact ({exc.strerror or exc})") from None
    finally:
        temporary.unlink(missing_ok=True)
    return target


def _owned_by_save(path: Path, manifest_name: str, manifest_format: str) -> bool:
    """Whether ``path`` is a file an artifact directory's save writes: its manifest (JSON of
    ``manifest_format``) or an intact artifact."""
    if path.is_symlink() or not path.is_file():
        return False
    try:
        raw = path.read_bytes()
    except OSError:
        return False
    if path.name == manifest_name:
        try:
            manifest = json.loads(raw)
        except ValueError:
            return False
        return isinstance(manifest, dict) and manifest.get("format") == manifest_format
    try:
        _read_header(raw, str(path))
    except ArtifactError:
        return False
    return True


def check_artifact_directory(
    out: str | os.PathLike[str], *, overwrite: bool, manifest_name: str, manifest_format: str
) -> None:
    """ConfigError (one line) unless :func:`write_artifact_directory` may write ``out``: it
    does not exist, is an empty directory, or — with ``overwrite`` — a directory of which
    every entry is a file such a save writes (its manifest ``manifest_name`` of format
    ``manifest_format``, or an intact artifact). Call it before a long fit."""
    folder = Path(out)
    if not folder.exists() and not folder.is_symlink():
        return
    if folder.is_symlink() or not folder.is_dir():
        raise ConfigError(f"{folder}: exists and is not a directory; choose another --out")
    entries = sorted(folder.iterdir())
    if not entries:
        return
    if not overwrite:
        raise ConfigError(f"{folder}: exists and is not empty (pass --overwrite)")
    for entry in entries:
        if not _owned_by_save(entry, manifest_name, manifest_format):
            raise ConfigError(
                f"{folder}: holds {entry.name}, which a surrogate save did not write; it is not "
                "replaced — move it or choose another --out"
            )


def write_artifact_directory(
    files: Mapping[str, bytes],
    out: str | os.PathLike[str],
    *,
    overwrite: bool,
    manifest_name: str,
    manifest_format: str,
) -> Path:
    """Write ``files`` (name -> bytes, artifacts and their manifest ``manifest_name``) as the
    directory ``out``, atomically: into a temporary sibling (each file synced), then renamed
    into place. An existing ``out`` is replaced only as :func:`check_artifact_directory`
    allows, and only its files are deleted; on any error the temporary directory is removed
    and ``out`` is as it was (an OS error such as a full disk is a one-line ConfigError)."""
    for name in files:
        if not name or name in (".", "..") or "/" in name or "\\" in name:
            raise ConfigError(f"artifact directory: {name!r} is not a file name")
    folder = Path(os.path.abspath(out))
    check_artifact_directory(
        folder, overwrite=overwrite, manifest_name=manifest_name, manifest_format=manifest_format
    )
    temporary = _temporary_sibling(folder)
    old = folder.with_name(f".{folder.name}.old-{uuid.uuid4().hex[:8]}")
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        temporary.mkdir()
        for name, data in files.items():
            _write_synced(temporary / name, data)
        if folder.is_dir():
            check_artifact_directory(
                folder, overwrite=overwrite, manifest_name=manifest_name, manifest_format=manifest_format
            )
            owned = [entry.name for entry in folder.iterdir()]
            os.replace(folder, old)
            try:
                os.replace(temporary, folder)
            except BaseException:
                os.replace(old, folder)
                raise
            for name in owned:
                (old / name).unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # a file appeared meanwhile: the folder is kept
                old.rmdir()
        else:
            os.replace(temporary, folder)
    except OSError as exc:
        raise ConfigError(f"{folder}: cannot write the surrogate directory ({exc.strerror or exc})") from None
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)
    return folder


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
