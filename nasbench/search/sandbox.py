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

import contextlib
import importlib
import json
import math
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from nasbench.bench.benchmark import Benchmark, Budget, Constraint, Result, Task
from nasbench.bench.results import ONE_SHOT_KIND
from nasbench.core.errors import ConfigError, MetricError, NasbenchError, TableError, one_line
from nasbench.core.signals import BudgetExhausted
from nasbench.core.space import SPACE_PRESETS, ArchLike, CellSpace

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

#: Largest message a child may send (a one-shot run's record of architecture weights is
#: the largest legitimate one, well under this).
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

#: Modules the server process imports once, so a run's child starts without importing them.
PRELOAD = "nasbench.search.sandbox_preload"


# --------------------------------------------------------------------- errors
def error_line(exc: BaseException) -> str:
    """``Type: message`` on one line."""
    message = one_line(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


_IMPORT_MACHINERY = (os.path.dirname(importlib.__file__) + os.sep, f"{os.sep}importlib_metadata{os.sep}")


def traceback_text(exc: BaseException) -> str:
    """The formatted exception chain without frames of Python's import machinery.

    Which of ``importlib.metadata`` and its backport ``importlib_metadata`` loads a plugin
    depends on what the process imported before, so their frames would make errors.json
    differ between runs in different processes.
    """
    details = traceback.TracebackException.from_exception(exc)
    pending = [details]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        kept = [
            frame
            for frame in current.stack
            if not frame.filename.startswith("<frozen ")
            and not any(part in frame.filename for part in _IMPORT_MACHINERY)
        ]
        current.stack = traceback.StackSummary.from_list(kept)
        pending.extend(other for other in (current.__cause__, current.__context__) if other is not None)
    return "".join(details.format())


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


# --------------------------------------------------------------------- messages
def _send(conn: Any, message: Mapping[str, Any]) -> None:
    conn.send_bytes(json.dumps(message).encode("utf-8"))


def _receive(conn: Any) -> dict[str, Any]:
    data = conn.recv_bytes(MAX_MESSAGE_BYTES)
    message = json.loads(data.decode("utf-8"))
    if not isinstance(message, dict):
        raise ValueError("a message must be a JSON object")
    return message


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


# --------------------------------------------------------------------- the child's benchmark
#: Errors the parent's benchmark may answer with, raised again in the child by name.
_ERRORS: dict[str, type[NasbenchError]] = {
    cls.__name__: cls for cls in (ConfigError, MetricError, TableError)
}


class SandboxBenchmark(Benchmark):
    """The benchmark a strategy sees in its sandbox: the task, and evaluations answered by
    the parent. It holds no table, no test metric and no regret; its budget is the
    strategy's own view, the parent's is the one enforced."""

    def __init__(self, conn: Any, task: Task, seed: int, budget: Budget | None = None) -> None:
        self._conn = conn
        self.seed = int(seed)
        self.task = task
        self._space = task.space
        self._num_epochs = int(task.num_epochs)
        self.constraint = task.constraint
        self.seconds_problem = None
        self._budget = budget
        self.sim_seconds = 0.0
        self.evaluations = 0
        self._incumbent = -1
        self._incumbent_val = -math.inf

    # Test metrics do not exist here; say so rather than AttributeError.
    @property
    def best_test_acc(self) -> float:  # type: ignore[override]
        raise MetricError("test metrics are not available to a strategy")

    @property
    def table(self) -> Any:  # type: ignore[override]
        raise MetricError("a strategy runs without the table; use benchmark.task")

    def test_acc(self, arch: ArchLike) -> float:
        raise MetricError("test metrics are not available to a strategy")

    def score_by(self, table: Any) -> None:
        raise ConfigError("a strategy cannot choose how its run is scored")

    def reset(self) -> None:
        raise ConfigError("a sandboxed run cannot be restarted")

    def trajectory(self) -> dict[str, np.ndarray]:
        raise MetricError("the trajectory (with test accuracy) is recorded by the runner, not the strategy")

    def _request(self, message: Mapping[str, Any]) -> dict[str, Any]:
        _send(self._conn, message)
        reply = _receive(self._conn)
        if reply.get("exhausted"):
            raise BudgetExhausted(str(reply.get("message", "budget spent")))
        if "error" in reply:
            error = _ERRORS.get(str(reply.get("type")), ConfigError)
            raise error(str(reply["error"]))
        return reply

    def with_constraint(self, constraint: Constraint | str | None) -> SandboxBenchmark:
        """The parent's benchmark is put under ``constraint`` (before any evaluation)."""
        if isinstance(constraint, str):
            constraint = Constraint.parse(constraint)
        text = None if constraint is None else f"{constraint.metric}<={constraint.max_value!r}"
        self._request({"op": "constrain", "constraint": text})
        feasible = None
        if constraint is not None:
            values = self.task.values(constraint.metric)
            feasible = np.nan_to_num(values, nan=np.inf) <= constraint.max_value
            feasible.setflags(write=False)
        task = Task(
            space=self.task.space,
            num_epochs=self.task.num_epochs,
            properties=self.task.properties,
            constraint=constraint,
            mean_run_seconds=self.task.mean_run_seconds,
            protocol=self.task.protocol,
            _feasible=feasible,
        )
        return SandboxBenchmark(self._conn, task, self.seed, self.budget)

    @property
    def budget(self) -> Budget | None:
        return self._budget

    @budget.setter
    def budget(self, budget: Budget | None) -> None:
        self._budget = budget

    def charge(self, seconds: float) -> None:
        reply = self._request({"op": "charge", "seconds": float(seconds)})
        self.sim_seconds = float(reply["sim_seconds"])

    def evaluate(self, arch: ArchLike, epochs: int | None = None) -> Result:
        if type(arch) is int and 0 <= arch < self._space.size:
            index = arch
        else:
            index = self._space.index(arch)
        if epochs is None:
            epochs = self._num_epochs
        elif isinstance(epochs, np.integer):
            epochs = int(epochs)
        if type(epochs) is not int or not 1 <= epochs <= self._num_epochs:
            raise ConfigError(f"epochs must be an integer in 1..{self._num_epochs}, got {epochs!r}")
        if self.exhausted:
            raise BudgetExhausted(f"budget spent after {self.evaluations} evaluations")
        reply = self._request({"op": "evaluate", "index": int(index), "epochs": epochs})
        result = Result(*reply["result"])
        self.evaluations = int(reply["evaluations"])
        self.sim_seconds = float(result.sim_seconds)
        if result.val_acc > self._incumbent_val and self.task.feasible(index):
            self._incumbent_val = result.val_acc
            self._incumbent = index
        return result


# --------------------------------------------------------------------- the child
def _watchdog(parent_pid: int, deadline: float) -> None:
    """Exit when the parent is gone or the run's time is up (the parent normally kills
    the child first; this catches a parent that died without doing so)."""
    while True:
        time.sleep(0.5)
        if time.time() > deadline or os.getppid() == 1:
            os._exit(3)
        try:
            os.kill(parent_pid, 0)
        except OSError:
            os._exit(3)


def _space(data: dict[str, Any]) -> CellSpace:
    """The space described by ``data``: the server's preset instance when it is one (its
    isomorphism classes were computed once, before the fork)."""
    space = CellSpace.from_dict(data)
    for preset in SPACE_PRESETS.values():
        if preset == space:
            return preset
    return space


def _load_class(data: bytes | None) -> Any:
    if data is None:
        return None
    try:
        return pickle.loads(data)  # sent by the parent, which trusts its own classes
    except Exception:
        import cloudpickle

        return cloudpickle.loads(data)


def _child(conn: Any, request: dict[str, Any]) -> None:
    """The sandboxed run: build the strategy, run it against a :class:`SandboxBenchmark`,
    and report its objective and record (or its failure) to the parent."""
    threading.Thread(target=_watchdog, args=(request["parent_pid"], request["deadline"]), daemon=True).start()
    if request.get("mode") == "describe":
        _describe(conn, request)
    try:
        from nasbench.search.strategy import (
            create_strategy,
            get_strategy_class,
            register_strategy,
            run_strategy,
        )

        name = request["strategy"]
        sys.path[:] = request["sys_path"]  # where the parent finds a strategy class's module
        if request.get("cwd"):
            with contextlib.suppress(OSError):
                os.chdir(request["cwd"])
        cls = _load_class(request.get("strategy_class"))
        if cls is not None:
            try:
                get_strategy_class(name)
            except ConfigError:
                register_strategy(name)(cls)
        strategy = create_strategy(name, seed=request["seed"], **request["params"])
        properties = {key: np.asarray(values) for key, values in request["properties"].items()}
        for values in properties.values():
            values.setflags(write=False)
        task = Task(
            space=_space(request["space"]),
            num_epochs=int(request["num_epochs"]),
            properties=properties,
            mean_run_seconds=float(request["mean_run_seconds"]),
            protocol=request["protocol"],
        )
        benchmark = SandboxBenchmark(conn, task, request["seed"])
        finished = run_strategy(strategy, benchmark, seed=request["seed"], budget=Budget(**request["budget"]))
        objective = strategy.objective(finished.task)
        record = strategy.run_record()
        try:
            record_text = json.dumps(record, allow_nan=True)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"run_record() must return plain JSON data: {exc}") from None
        message = {
            "op": "done",
            "kind": str(strategy.kind),
            "objective": None if objective is None else str(objective),
            "record": json.loads(record_text),
        }
    except BaseException as exc:
        message = {"op": "failed", "error": error_line(exc), "traceback": traceback_text(exc)}
    _last_word(conn, message)


def _last_word(conn: Any, message: Mapping[str, Any]) -> None:
    """Send the child's final message and end the child (no exit handlers of plug-in code)."""
    try:
        _send(conn, message)
    except BaseException:  # the parent is gone, or the message is too large
        pass
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _describe(conn: Any, request: dict[str, Any]) -> None:
    """Check strategy names and hyperparameters where the plug-ins are imported: here,
    not in the comparing process, so a plug-in's import cannot touch what scores runs."""
    try:
        sys.path[:] = request["sys_path"]
        from nasbench.search.checks import check_names, check_strategies
        from nasbench.search.strategy import get_strategy_class, register_strategy

        for name, data in request["classes"].items():
            cls = _load_class(data)
            try:
                get_strategy_class(name)
            except ConfigError:
                register_strategy(name)(cls)
        names = check_names(request["strategies"])
        entries = check_strategies(names, request["params"])
        message: dict[str, Any] = {
            "op": "described",
            "names": names,
            "entries": [
                {
                    "name": entry.name,
                    "kind": entry.kind,
                    "params": entry.params,
                    "hyperparameters": entry.hyperparameters,
                    "provider": entry.provider,
                }
                for entry in entries
            ],
        }
    except NasbenchError as exc:
        message = {"op": "failed", "error": one_line(exc), "type": type(exc).__name__}
    except BaseException as exc:
        message = {
            "op": "failed",
            "error": f"a strategy plug-in failed while being checked: {error_line(exc)}",
        }
    _last_word(conn, message)


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


# --------------------------------------------------------------------- the server
def serve(control_fd: int, sys_path: list[str]) -> None:
    """The sandbox server: a clean process (it has imported the library and the built-in
    strategies, never a table) that forks one child per run on request.

    Requests on the control socket are 16 bytes, an operation and a pid. ``run`` carries
    one end of a socket pair; the child forked for it reads its run from that end and
    talks to the parent over it; the reply is the child's pid. ``kill`` kills a child that
    has not been reaped yet (so its pid cannot have been reused). The server exits when
    the control socket closes (its parent is gone).
    """
    sys.path[:] = sys_path
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    importlib.import_module(PRELOAD)
    control = socket.socket(fileno=control_fd)
    children: set[int] = set()
    while True:
        try:
            data, fds, _flags, _address = socket.recv_fds(control, 16, 1)
        except OSError:
            break
        if len(data) != 16:
            break
        _reap(children)
        op, target = data[:8], struct.unpack("!q", data[8:])[0]
        if op == b"kill    ":
            if target in children:
                with contextlib.suppress(OSError):
                    os.kill(target, signal.SIGKILL)
            for fd in fds:
                os.close(fd)
            control.sendall(struct.pack("!q", target))
            continue
        if not fds:
            break
        pid = os.fork()
        if pid == 0:
            control.close()
            signal.signal(signal.SIGINT, signal.default_int_handler)
            with contextlib.suppress(OSError):
                os.setpgrp()  # out of the terminal's process group
            from multiprocessing.connection import Connection

            conn = Connection(fds[0])
            try:
                request = pickle.loads(conn.recv_bytes())  # from the parent, which it trusts
            except BaseException:
                os._exit(4)
            _child(conn, request)
            os._exit(0)
        children.add(pid)
        os.close(fds[0])
        control.sendall(struct.pack("!q", pid))


def _reap(children: set[int]) -> None:
    """Collect the children that have exited."""
    for pid in list(children):
        try:
            done, _status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            children.discard(pid)


class _Launcher:
    """This process's sandbox server (started on first use, restarted if it died)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None

    def _start(self) -> None:
        ours, theirs = socket.socketpair()
        code = (
            "import sys, json; from nasbench.search.sandbox import serve; "
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
