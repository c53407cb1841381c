"""Strategy runs in a process of their own that never holds test data.

A comparison is only fair if no strategy can read the answers. :func:`run_isolated` runs a
strategy in a child process forked from a clean server process (started once per process
with ``python -c``: it has imported the library and the built-in strategies, but has never
opened a table). The child is given only what a strategy may know before training
anything — the space, the epoch budget, the free per-architecture properties (read-only
arrays), the mean run seconds and the training protocol — and a :class:`SandboxBenchmark`
whose every evaluation is a request to the parent:

- the parent answers it from its own :class:`~nasbench.bench.benchmark.Benchmark`, which
  enforces the budget (an evaluation past it is refused, never recorded), validates the
  index and epochs, and returns training and validation metrics only;
- test accuracy and regret are computed by the parent from the trajectory it recorded;
- messages from the child are JSON of bounded size, never pickles, so a hostile child
  cannot run code in the parent;
- the run has a wall-clock limit: a child past it is killed and the run fails, as does a
  child that exits or is killed without a result; any exception of the strategy,
  ``SystemExit`` and ``KeyboardInterrupt`` included, fails that run only;
- strategy names and hyperparameters are checked in a sandbox child too
  (:func:`describe_isolated`), so a third-party plug-in is never imported by the process
  that answers and scores the runs;
- the child leaves the terminal's process group (Ctrl-C stops the comparison in the
  parent, which kills its children) and exits on its own when the parent is gone.

What the sandbox does not close: the child runs as the same operating-system user, so it
could open a table file it finds on disk by itself (it is told no path). Tables a
comparison reads should not be where a plug-in would look; OS-level isolation (another
user, a container) is the way to close that route.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from nasbench.bench.benchmark import Benchmark, Budget, Constraint, Result
from nasbench.bench.results import ONE_SHOT_KIND
from nasbench.core.errors import ConfigError, NasbenchError, one_line
from nasbench.core.signals import BudgetExhausted
from nasbench.search.sandbox_child import (
    _ERRORS,
    SandboxBenchmark,
    _receive,
    error_line,
    traceback_text,
)

__all__ = [
    "DEFAULT_RUN_TIMEOUT_SECONDS",
    "IsolatedRun",
    "RunFailed",
    "SandboxBenchmark",
    "error_line",
    "run_isolated",
    "traceback_text",
]

#: Wall-clock seconds one run may take before it is killed and recorded as failed.
DEFAULT_RUN_TIMEOUT_SECONDS = 3600.0


class RunFailed(Exception):
    """A sandboxed run that did not finish: ``error`` (one line) and ``traceback``."""

    def __init__(self, error: str, traceback_text: str = "") -> None:
        super().__init__(error)
        self.error = error
        self.traceback = traceback_text or error + "\n"


@dataclass
class IsolatedRun:
    """What a sandboxed run left: the parent's benchmark (its trajectory holds test
    accuracy and regret), the strategy's objective (a property name or None), its
    :meth:`~nasbench.search.strategy.Strategy.run_record`, and its kind."""

    benchmark: Benchmark
    objective: str | None
    record: dict[str, Any] | None
    kind: str


# --------------------------------------------------------------------- the parent
def _result_list(result: Result) -> list[Any]:
    return [
        result.index,
        result.epochs,
        result.val_acc,
        result.val_loss,
        result.train_acc,
        result.train_loss,
        result.cost_seconds,
        result.sim_seconds,
        result.failed,
    ]


def describe_isolated(
    strategies: str | list[str],
    params: Mapping[str, Any] | None,
    classes: Mapping[str, type],
    *,
    timeout_seconds: float = 600.0,
) -> tuple[list[str], list[dict[str, Any]]]:
    """(names, entries) of the strategies to compare, checked in a sandbox child (see
    :func:`nasbench.search.checks.check_strategies`): ``classes`` are the strategies this
    process registered by decorator, shipped to it. A bad name or hyperparameter raises
    the same error here as it did there."""
    request = {
        "mode": "describe",
        "strategies": strategies,
        "params": {name: dict(values) for name, values in (params or {}).items()},
        "classes": {name: _class_bytes(cls) for name, cls in classes.items()},
        "sys_path": list(sys.path),
        "parent_pid": os.getpid(),
        "deadline": time.time() + timeout_seconds + 5.0,
    }
    pid, conn = _LAUNCHER.fork()
    try:
        conn.send_bytes(pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL))
        if not conn.poll(timeout_seconds):
            raise ConfigError(f"checking the strategies' plug-ins took longer than {timeout_seconds:g} s")
        try:
            message = _receive(conn)
        except (EOFError, OSError, ValueError, UnicodeDecodeError):
            raise ConfigError("a strategy plug-in ended its process while being checked") from None
    finally:
        conn.close()
        _LAUNCHER.kill(pid)
    if message.get("op") == "failed":
        error = _ERRORS.get(str(message.get("type")), ConfigError)
        raise error(str(message.get("error", "the strategies could not be checked")))
    names, entries = message.get("names"), message.get("entries")
    if not isinstance(names, list) or not isinstance(entries, list):
        raise ConfigError("the strategies could not be checked (a malformed answer)")
    return [str(name) for name in names], entries


class _Launcher:
    """This process's sandbox server (started on first use, restarted if it died)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None

    def _start(self) -> None:
        ours, theirs = socket.socketpair()
        code = (
            "import sys, json; from nasbench.search.sandbox_child import serve; "
            "serve(int(sys.argv[1]), json.loads(sys.argv[2]))"
        )
        self._process = subprocess.Popen(
            [sys.executable, "-c", code, str(theirs.fileno()), json.dumps(sys.path)],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self._control = ours

    def fork(self) -> tuple[int, Any]:
        """(pid, connection) of a new child of the server, ready for its request."""
        from multiprocessing.connection import Connection

        with self._lock:
            for attempt in range(2):
                if self._process is None or self._process.poll() is not None:
                    self._start()
                assert self._control is not None
                ours, theirs = socket.socketpair()
                try:
                    socket.send_fds(self._control, [b"run     " + struct.pack("!q", 0)], [theirs.fileno()])
                    reply = self._recv_exactly(8)
                except OSError:
                    ours.close()
                    self._stop()
                    if attempt:
                        raise
                    continue
                finally:
                    theirs.close()
                (pid,) = struct.unpack("!q", reply)
                return pid, Connection(ours.detach())
        raise RuntimeError("unreachable")

    def kill(self, pid: int) -> None:
        """Kill the server's child ``pid`` if it has not been reaped (never another process)."""
        with self._lock:
            if self._control is None:
                return
            try:
                self._control.sendall(b"kill    " + struct.pack("!q", pid))
                self._recv_exactly(8)
            except OSError:
                self._stop()

    def _recv_exactly(self, size: int) -> bytes:
        assert self._control is not None
        data = b""
        while len(data) < size:
            chunk = self._control.recv(size - len(data))
            if not chunk:
                raise ConnectionError("the sandbox server closed its socket")
            data += chunk
        return data

    def _stop(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None


_LAUNCHER = _Launcher()


def _class_bytes(cls: Any) -> bytes | None:
    if cls is None:
        return None
    try:
        return pickle.dumps(cls)
    except Exception:  # defined in a function or __main__: by value
        import cloudpickle

        return cloudpickle.dumps(cls)


class _Server:
    """The parent's side of one run: answers the child's requests from ``benchmark``."""

    def __init__(
        self, benchmark: Benchmark, one_shot: bool, rescore: Callable[[Benchmark], None] | None
    ) -> None:
        self.benchmark = benchmark
        self.one_shot = one_shot
        self.rescore = rescore

    def answer(self, message: dict[str, Any]) -> dict[str, Any]:
        op = message.get("op")
        benchmark = self.benchmark
        try:
            if op == "evaluate":
                index, epochs = message.get("index"), message.get("epochs")
                if type(index) is not int or not 0 <= index < benchmark.space.size:
                    return {
                        "error": f"index must be an integer in 0..{benchmark.space.size - 1}, got {index!r}"
                    }
                if type(epochs) is not int:
                    return {"error": f"epochs must be an integer, got {epochs!r}"}
                if self.one_shot and benchmark.evaluations >= 1:
                    return {
                        "exhausted": True,
                        "message": "a one-shot run evaluates the one architecture it found",
                    }
                result = benchmark.evaluate(index, epochs)
                return {"result": _result_list(result), "evaluations": benchmark.evaluations}
            if op == "charge":
                seconds = message.get("seconds")
                if not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or seconds < 0:
                    return {"error": f"charge needs finite, non-negative seconds, got {seconds!r}"}
                benchmark.charge(float(seconds))
                return {"sim_seconds": benchmark.sim_seconds}
            if op == "constrain":
                if benchmark.evaluations:
                    return {"error": "a constraint must be set before the first evaluation"}
                text = message.get("constraint")
                constraint = None if text is None else Constraint.parse(str(text))
                replaced = benchmark.with_constraint(constraint)
                replaced.budget = benchmark.budget
                if self.rescore is not None:
                    self.rescore(replaced)
                self.benchmark = replaced
                return {}
        except BudgetExhausted as exc:
            return {"exhausted": True, "message": str(exc)}
        except NasbenchError as exc:  # said without the table's path, which a strategy must not learn
            label = getattr(self.benchmark, "_label", "")
            message = one_line(exc).replace(label, "the table") if label else one_line(exc)
            return {"error": message, "type": type(exc).__name__}
        return {"error": f"unknown request {op!r}"}


def run_isolated(
    benchmark: Benchmark,
    strategy: str,
    *,
    seed: int,
    budget: Budget,
    params: Mapping[str, Any] | None = None,
    kind: str = "",
    strategy_class: type | None = None,
    timeout_seconds: float = DEFAULT_RUN_TIMEOUT_SECONDS,
    rescore: Callable[[Benchmark], None] | None = None,
) -> IsolatedRun:
    """Run the strategy registered as ``strategy`` (or ``strategy_class``) with ``params``
    and ``seed`` in a sandbox, answered by ``benchmark`` (a fresh one, with its test data:
    it stays in this process) under ``budget``. ``kind`` is the strategy's kind as this
    process knows it (a one-shot run may evaluate once, beyond its search budget).
    ``rescore`` re-applies a scoring table when the strategy puts the benchmark under a
    constraint. Raises :class:`RunFailed` when the run fails, times out or its process dies.
    """
    one_shot = kind == ONE_SHOT_KIND
    if one_shot:
        benchmark.budget = None
    else:
        benchmark.budget = budget
    task = benchmark.task
    request = {
        "strategy": strategy,
        "strategy_class": _class_bytes(strategy_class),
        "params": dict(params or {}),
        "seed": int(seed),
        "budget": budget.to_dict(),
        "space": task.space.to_dict(),
        "num_epochs": int(task.num_epochs),
        "properties": {name: np.asarray(values) for name, values in task.properties.items()},
        "mean_run_seconds": float(task.mean_run_seconds),
        "protocol": None if task.protocol is None else dict(task.protocol),
        "parent_pid": os.getpid(),
        "sys_path": list(sys.path),
        "cwd": os.getcwd(),
    }
    server = _Server(benchmark, one_shot, rescore)
    pid, conn = _LAUNCHER.fork()  # waits for the server's start, which is not the run's time
    deadline = time.monotonic() + float(timeout_seconds)
    request["deadline"] = time.time() + float(timeout_seconds) + 5.0
    try:
        conn.send_bytes(pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL))
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RunFailed(f"RunTimeout: the run took longer than {timeout_seconds:g} s and was stopped")
            if not conn.poll(min(remaining, 1.0)):
                continue
            try:
                message = _receive(conn)
            except (EOFError, ConnectionError):
                raise RunFailed(_died()) from None
            except (OSError, ValueError, UnicodeDecodeError) as exc:
                raise RunFailed(f"ProtocolError: unreadable message from the run ({one_line(exc)})") from None
            op = message.get("op")
            if op == "done":
                return _finish(server.benchmark, message, kind)
            if op == "failed":
                raise RunFailed(str(message.get("error", "failed")), str(message.get("traceback", "")))
            conn.send_bytes(json.dumps(server.answer(message)).encode("utf-8"))
    finally:
        conn.close()
        _LAUNCHER.kill(pid)


def _died() -> str:
    return "RunDied: the run's process ended (it exited or was killed) before reporting a result"


def _finish(benchmark: Benchmark, message: dict[str, Any], kind: str) -> IsolatedRun:
    """The run's outcome, its objective and record checked (they come from plug-in code)."""
    objective = message.get("objective")
    if objective is not None:
        if not isinstance(objective, str) or objective not in benchmark.task.properties:
            raise RunFailed(
                f"ConfigError: objective() named {str(objective)[:80]!r}, not a property of the table"
            )
    record = message.get("record")
    if record is not None:
        problem = _record_problem(record)
        if problem:
            raise RunFailed(f"ConfigError: run_record() {problem}")
    return IsolatedRun(benchmark, objective, record, kind or str(message.get("kind", "")))


#: Columns after ``seed`` of a record's row lists (see :mod:`nasbench.bench.results`).
_RECORD_ROWS = {"epochs": 4, "weights": 4}


def _record_problem(record: Any) -> str:
    """Why ``record`` cannot go into the result files ("" if it can)."""
    if not isinstance(record, dict):
        return "must return a dict or None"
    seconds = record.get("search_seconds")
    if seconds is not None and (not isinstance(seconds, (int, float)) or isinstance(seconds, bool)):
        return f"search_seconds must be a number, got {str(seconds)[:40]!r}"
    for name, width in _RECORD_ROWS.items():
        rows = record.get(name, [])
        if not isinstance(rows, list) or not all(
            isinstance(row, list) and len(row) == width and all(isinstance(v, (int, float, str)) for v in row)
            for row in rows
        ):
            return f"{name} must be a list of rows of {width} numbers or strings"
    return ""
