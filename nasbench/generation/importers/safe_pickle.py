"""Reading pickled benchmark files as plain data, never running code from them.

Public NAS benchmarks ship as pickles (NAS-Bench-201's ``torch.save`` files, NATS-Bench's
bz2 pickles, NASLib's and HW-NAS-Bench's pickles). Unpickling calls whatever global a
file names, so every reader here resolves globals from an allow-list (collections'
``OrderedDict``, numpy's scalar and dtype constructors, and for torch's protocol-2 files
a latin-1-only ``_codecs.encode``); any other global is refused with a
:class:`~nasbench.core.errors.TableError` naming it, before it is called.

Two ways to read:

- :func:`load_restricted`: the C unpickler, for files that fit in memory (headers,
  one-architecture files, NASLib and HW-NAS-Bench pickles).
- :func:`stream_records`: for files of gigabytes (NAS-Bench-201's 4.7 GB ``.pth``). A
  pure-Python unpickler hands each *record* (a value recognised by ``is_record``) to a
  callback when it is stored into its parent dict (it is complete then), stores ``None``
  instead and forgets it, so memory holds one record at a time plus whatever the
  callback keeps. The catch is
  the pickle memo: a later ``GET`` may fetch any object memoised earlier (NAS-Bench-201
  shares key strings across architectures). A first pass over the opcodes (no objects
  built) notes the last fetch of every memo slot; the second pass drops each slot as soon
  as no fetch of it is left. That is exact: only objects the file still refers to stay.
"""

from __future__ import annotations

import bz2
import codecs
import collections
import contextlib
import heapq
import importlib
import pickle
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar

import numpy as np

from nasbench.core.errors import TableError, one_line

__all__ = [
    "ARRAY_GLOBALS",
    "DATA_GLOBALS",
    "TORCH_GLOBALS",
    "TORCH_MAGIC",
    "StreamStats",
    "load_restricted",
    "open_maybe_bz2",
    "read_errors",
    "stream_records",
    "torch_object_pickle",
]

#: Globals a plain-data benchmark pickle needs: ordered dicts, numpy scalars and dtypes.
DATA_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {
        ("collections", "OrderedDict"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "dtype"),
    }
)
#: ``torch.save`` writes pickle protocol 2, where a numpy scalar's bytes are rebuilt by
#: ``_codecs.encode(text, "latin1")``; only that encoding is accepted.
TORCH_GLOBALS: frozenset[tuple[str, str]] = DATA_GLOBALS | {("_codecs", "encode")}
#: numpy arrays (``ndarray.__reduce__``, ``_frombuffer`` under protocol 5, the latin-1
#: bytes of protocol 2): for files that pickle whole arrays.
ARRAY_GLOBALS: frozenset[tuple[str, str]] = TORCH_GLOBALS | {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
}


def _numpy_module(name: str) -> Any:
    """``numpy._core.<name>`` (numpy 2), else ``numpy.core.<name>``: files name either."""
    try:
        return importlib.import_module(f"numpy._core.{name}")
    except ImportError:  # pragma: no cover - numpy < 2
        return importlib.import_module(f"numpy.core.{name}")


def _latin1_encode(text: object, encoding: object = "latin1") -> bytes:
    """``_codecs.encode`` as protocol-2 pickles of bytes use it, and nothing more."""
    if not isinstance(text, str) or str(encoding).lower().replace("_", "-") not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("_codecs.encode is accepted only as text.encode('latin1')")
    return codecs.encode(text, "latin1")


def _resolve(module: str, name: str, allowed: frozenset[tuple[str, str]], source: str) -> Any:
    if (module, name) not in allowed:
        raise TableError(
            f"{source}: refused to load global '{module}.{name}': only plain data is read from "
            "benchmark files, nothing in them is run"
        )
    if (module, name) == ("collections", "OrderedDict"):
        return collections.OrderedDict
    if (module, name) == ("numpy", "dtype"):
        return np.dtype
    if (module, name) == ("numpy", "ndarray"):
        return np.ndarray
    if (module, name) == ("_codecs", "encode"):
        return _latin1_encode
    return getattr(_numpy_module(module.rpartition(".")[2]), name)  # scalar, _reconstruct, _frombuffer


class _Restricted(pickle.Unpickler):
    """The C unpickler with globals resolved from an allow-list and no persistent ids."""

    def __init__(self, file: IO[bytes], source: str, allowed: frozenset[tuple[str, str]]) -> None:
        super().__init__(file, encoding="latin1")
        self._source = source
        self._allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        return _resolve(module, name, self._allowed, self._source)

    def persistent_load(self, pid: Any) -> Any:
        raise TableError(f"{self._source}: holds tensor storage; benchmark files hold plain numbers only")


@contextlib.contextmanager
def read_errors(source: str) -> Iterator[None]:
    """Turn whatever a damaged file makes a reader raise into one :class:`TableError`."""
    try:
        yield
    except TableError:
        raise
    except FileNotFoundError:
        raise TableError(f"{source}: no such file") from None
    except EOFError:
        raise TableError(f"{source}: truncated (the data ends before the pickle does)") from None
    except RecursionError:
        raise TableError(f"{source}: corrupt pickle (nested too deeply)") from None
    except MemoryError:
        raise TableError(f"{source}: corrupt pickle (asks for more memory than there is)") from None
    except Exception as exc:  # a damaged pickle, bz2 or zip stream raises many types
        text = one_line(exc) or type(exc).__name__
        raise TableError(f"{source}: corrupt or not a pickle ({text})") from None


def load_restricted(
    stream: IO[bytes], source: str, *, allowed: frozenset[tuple[str, str]] = DATA_GLOBALS
) -> Any:
    """Unpickle one object from ``stream`` with only ``allowed`` globals; damaged data
    raises :class:`TableError` naming ``source``."""
    with read_errors(source):
        return _Restricted(stream, source, allowed).load()


@contextlib.contextmanager
def open_maybe_bz2(path: Path, source: str) -> Iterator[IO[bytes]]:
    """A file, transparently bz2-decompressed when it starts with bz2's magic ``BZh``."""
    with read_errors(source):
        raw = open(path, "rb", buffering=1 << 20)
    try:
        compressed = raw.peek(3)[:3] == b"BZh"
        if compressed:
            with bz2.open(raw, "rb") as stream:
                yield stream
        else:
            yield raw
    finally:
        raw.close()


# ------------------------------------------------------------------ pass 1: scan opcodes

# Opcode argument shapes: >= 0 fixed byte count; the negative codes below.
_LEN1, _LEN4, _LEN8, _LINE, _LINES2, _BINGET, _LONG_BINGET, _GET, _STOP = -1, -4, -8, -10, -11, -2, -3, -5, -6
_SHAPE = [-99] * 256
for _codes, _shape in (
    (b"(.012NQR}e]abdlostu)", 0),
    (bytes(range(0x81, 0x82)) + bytes(range(0x85, 0x8A)) + bytes(range(0x8F, 0x95)) + b"\x97\x98", 0),
    (b"Kq\x80\x82", 1),
    (b"M\x83", 2),
    (b"Jr\x84", 4),
    (b"G\x95", 8),
    (b"UC\x8c\x8a", _LEN1),
    (b"TXB\x8b", _LEN4),
    (b"\x8d\x8e\x96", _LEN8),
    (b"ILFSVPp", _LINE),
    (b"ci", _LINES2),
):
    for _code in _codes:
        _SHAPE[_code] = _shape
_SHAPE[ord("h")], _SHAPE[ord("j")], _SHAPE[ord("g")], _SHAPE[ord(".")] = _BINGET, _LONG_BINGET, _GET, _STOP
_CHUNK = 1 << 22


def _last_fetches(
    stream: IO[bytes], progress: Callable[[int], None] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """For every memo slot a pickle fetches: the ordinal of its last fetching opcode.

    Reads one pickle from ``stream`` (to its STOP) without building any object. Returns
    (slots sorted, last fetch ordinal) as int64 arrays.
    """
    last: dict[int, int] = {}
    shape = _SHAPE
    read = stream.read
    buf, i, eof, fetches = b"", 0, False, 0
    while True:
        if len(buf) - i < 16 and not eof:
            more = read(_CHUNK)
            buf, i, eof = buf[i:] + more, 0, not more
            if progress is not None:
                progress(len(more))
        if i >= len(buf):
            raise EOFError
        code = shape[buf[i]]
        if code >= 0:
            i += 1 + code
        elif code == _LEN1:
            i += 2 + buf[i + 1]
        elif code == _BINGET:
            last[buf[i + 1]] = fetches
            fetches += 1
            i += 2
        elif code == _LONG_BINGET:
            last[int.from_bytes(buf[i + 1 : i + 5], "little")] = fetches
            fetches += 1
            i += 5
        elif code == _LEN4 or code == _LEN8:
            width = 4 if code == _LEN4 else 8
            size = int.from_bytes(buf[i + 1 : i + 1 + width], "little", signed=True)
            if size < 0:
                raise pickle.UnpicklingError("negative length")
            i += 1 + width + size
        elif code in (_LINE, _LINES2, _GET):
            while True:  # the argument runs to the next newline (GLOBAL and INST: two)
                end = buf.find(b"\n", i + 1)
                if code == _LINES2 and end >= 0:
                    end = buf.find(b"\n", end + 1)
                if end >= 0 or eof:
                    break
                more = read(_CHUNK)
                buf, i, eof = buf[i:] + more, 0, not more
            if end < 0:
                raise EOFError
            if code == _GET:
                last[int(buf[i + 1 : end])] = fetches
                fetches += 1
            i = end + 1
        elif code == _STOP:
            break
        else:
            raise pickle.UnpicklingError(f"invalid opcode {buf[i]:#04x}")
        if i > len(buf):  # an argument longer than the buffer: skip the rest of it
            skip = i - len(buf)
            while skip:
                data = read(min(skip, _CHUNK))
                if not data:
                    raise EOFError
                skip -= len(data)
            buf, i = b"", 0
    slots = np.fromiter(last.keys(), dtype=np.int64, count=len(last))
    ordinals = np.fromiter(last.values(), dtype=np.int64, count=len(last))
    order = np.argsort(slots)
    return slots[order], ordinals[order]


# ------------------------------------------------------------------ pass 2: build, hand over


@dataclass
class StreamStats:
    """What :func:`stream_records` did: records handed over; the most memo slots held at
    once (flat when records are released, however many the file holds); memo fetches, and
    those of slots kept past a release because a later opcode still fetched them."""

    records: int = 0
    memo_peak: int = 0
    fetches: int = 0
    kept_fetches: int = 0


_PLAIN = pickle._Unpickler  # the pure-Python unpickler: its opcode handlers can be wrapped


class _Streaming(_PLAIN):  # type: ignore[misc, valid-type]
    """Pure-Python restricted unpickler that hands completed records to a callback."""

    dispatch: ClassVar[dict[int, Callable[..., None]]] = dict(_PLAIN.dispatch)

    def __init__(
        self,
        file: IO[bytes],
        source: str,
        allowed: frozenset[tuple[str, str]],
        fetch_slots: np.ndarray,
        fetch_last: np.ndarray,
        is_record: Callable[[Any], bool],
        consume: Callable[[Any, Any], None],
    ) -> None:
        super().__init__(file, encoding="latin1")
        self._source = source
        self._allowed = allowed
        self._slots, self._last = fetch_slots, fetch_last
        self._is_record, self._consume = is_record, consume
        self._fetches = 0
        self._next_memo = 0
        self._new: list[int] = []
        self._kept: list[tuple[int, int]] = []  # (last fetch ordinal, slot)
        self._kept_slots: set[int] = set()
        self.stats = StreamStats()

    def find_class(self, module: str, name: str) -> Any:
        return _resolve(module, name, self._allowed, self._source)

    def persistent_load(self, pid: Any) -> Any:
        raise TableError(f"{self._source}: holds tensor storage; benchmark files hold plain numbers only")

    # -- memo bookkeeping: count fetches, note new slots
    def _fetch(self, slot: int) -> None:
        try:
            self.append(self.memo[slot])
        except KeyError:
            raise pickle.UnpicklingError(f"memo slot {slot} fetched before it was stored") from None
        self._fetches += 1
        if slot in self._kept_slots:
            self.stats.kept_fetches += 1

    def _store(self, slot: int) -> None:
        if slot < 0:
            raise pickle.UnpicklingError("negative memo slot")
        self.memo[slot] = self.stack[-1]
        self._new.append(slot)
        self._next_memo = max(self._next_memo, slot + 1)

    def _load_get(self) -> None:
        self._fetch(int(self.readline()[:-1]))

    def _load_binget(self) -> None:
        self._fetch(self.read(1)[0])

    def _load_long_binget(self) -> None:
        self._fetch(int.from_bytes(self.read(4), "little"))

    def _load_put(self) -> None:
        self._store(int(self.readline()[:-1]))

    def _load_binput(self) -> None:
        self._store(self.read(1)[0])

    def _load_long_binput(self) -> None:
        self._store(int.from_bytes(self.read(4), "little"))

    def _load_memoize(self) -> None:
        self._store(self._next_memo)

    # -- records: handed over when stored into their parent dict (then they are complete)
    def _load_setitem(self) -> None:
        stack = self.stack
        value = stack.pop()
        key = stack.pop()
        stack[-1][key] = self._take(key, value)

    def _load_setitems(self) -> None:
        items = self.pop_mark()
        target = self.stack[-1]
        for position in range(0, len(items), 2):
            key = items[position]
            target[key] = self._take(key, items[position + 1])

    def _take(self, key: Any, value: Any) -> Any:
        """``value``, or None after handing it over when it is a record."""
        if not self._is_record(value):
            return value
        self._consume(value, key)
        self.stats.records += 1
        self._release()
        return None

    def _release(self) -> None:
        """Forget every memo slot stored since the last release that no later opcode
        fetches; keep the others until their last fetch has passed."""
        memo = self.memo
        self.stats.memo_peak = max(self.stats.memo_peak, len(memo))
        if self._new:
            new = np.fromiter(self._new, dtype=np.int64, count=len(self._new))
            self._new.clear()
            where = np.minimum(np.searchsorted(self._slots, new), max(self._slots.size - 1, 0))
            if self._slots.size:
                last = np.where(self._slots[where] == new, self._last[where], -1)
            else:
                last = np.full(new.shape, -1, dtype=np.int64)
            later = last >= self._fetches
            for slot in new[~later].tolist():
                memo.pop(slot, None)
            for ordinal, slot in zip(last[later].tolist(), new[later].tolist(), strict=True):
                heapq.heappush(self._kept, (ordinal, slot))
                self._kept_slots.add(slot)
        kept = self._kept
        while kept and kept[0][0] < self._fetches:
            slot = heapq.heappop(kept)[1]
            self._kept_slots.discard(slot)
            memo.pop(slot, None)


_Streaming.dispatch.update(
    {
        pickle.GET[0]: _Streaming._load_get,
        pickle.BINGET[0]: _Streaming._load_binget,
        pickle.LONG_BINGET[0]: _Streaming._load_long_binget,
        pickle.PUT[0]: _Streaming._load_put,
        pickle.BINPUT[0]: _Streaming._load_binput,
        pickle.LONG_BINPUT[0]: _Streaming._load_long_binput,
        pickle.MEMOIZE[0]: _Streaming._load_memoize,
        pickle.SETITEM[0]: _Streaming._load_setitem,
        pickle.SETITEMS[0]: _Streaming._load_setitems,
    }
)


def stream_records(
    open_stream: Callable[[], contextlib.AbstractContextManager[IO[bytes]]],
    source: str,
    *,
    is_record: Callable[[Any], bool],
    consume: Callable[[Any, Any], None],
    allowed: frozenset[tuple[str, str]] = DATA_GLOBALS,
    progress: bool = False,
) -> tuple[Any, StreamStats]:
    """Unpickle one object, handing each record to ``consume(record, key)`` when it is
    stored into its parent dict under ``key`` (it is complete then).

    ``open_stream()`` must give a stream positioned at the pickle, twice (one pass scans,
    one builds). Records are replaced by ``None`` in the returned object. ``progress``
    shows the bytes scanned and the records read. Damaged data raises
    :class:`TableError` naming ``source``.
    """
    name = Path(source).name
    with _bar(progress, f"scanning {name}", "B") as bar, read_errors(source), open_stream() as stream:
        slots, last = _last_fetches(stream, None if bar is None else bar.update)
    with _bar(progress, f"reading {name}", " records") as bar, read_errors(source), open_stream() as stream:
        if bar is not None:
            inner = consume

            def consume(record: Any, key: Any) -> None:
                inner(record, key)
                bar.update(1)

        reader = _Streaming(stream, source, allowed, slots, last, is_record, consume)
        result = reader.load()
    reader.stats.fetches = reader._fetches
    return result, reader.stats


@contextlib.contextmanager
def _bar(show: bool, description: str, unit: str) -> Iterator[Any]:
    """A tqdm progress bar (None when not shown)."""
    if not show:
        yield None
        return
    from tqdm import tqdm

    with tqdm(desc=description, unit=unit, unit_scale=unit == "B", leave=False) as bar:
        yield bar


# ---------------------------------------------------------------------- torch.save containers
#: The first pickle of a legacy (pre-zip) ``torch.save`` file.
TORCH_MAGIC = 0x1950A86A20F9469CFC6C


@contextlib.contextmanager
def torch_object_pickle(path: Path, source: str, container: list[str]) -> Iterator[IO[bytes]]:
    """The stream of the pickled object inside a ``torch.save`` file (either container)."""
    with read_errors(source):
        raw = open(path, "rb", buffering=1 << 20)
    try:
        if raw.peek(4)[:4] == b"PK\x03\x04":
            container[:] = ["torch zip"]
            with read_errors(source):
                archive = zipfile.ZipFile(raw)
                members = [name for name in archive.namelist() if name.endswith("/data.pkl")]
                if len(members) != 1:
                    raise TableError(f"{source}: a torch zip file holds one */data.pkl, found {len(members)}")
            with archive, archive.open(members[0]) as member:
                yield member
        else:
            container[:] = ["torch legacy"]
            magic = load_restricted(raw, source, allowed=frozenset())
            if magic != TORCH_MAGIC:
                raise TableError(f"{source}: not a torch.save file (no torch magic number)")
            version = load_restricted(raw, source, allowed=frozenset())
            if version != 1001:
                raise TableError(f"{source}: torch legacy format version {version!r}, expected 1001")
            if not isinstance(load_restricted(raw, source, allowed=frozenset()), dict):
                raise TableError(f"{source}: torch legacy header without system information")
            yield raw
    finally:
        raw.close()
