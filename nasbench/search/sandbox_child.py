"""Inside the sandbox (:mod:`nasbench.search.sandbox`): the server process that forks one
child per run, the child that builds the strategy and runs it, and the benchmark it runs
against, whose every evaluation is a request to the comparing process. Nothing here opens
a table; messages to the parent are bounded JSON."""

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
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from typing import Any

import numpy as np

from nasbench.bench.benchmark import Benchmark, Budget, Constraint, Result, Task
from nasbench.core.errors import ConfigError, MetricError, NasbenchError, TableError, one_line
from nasbench.core.signals import BudgetExhausted
from nasbench.core.space import SPACE_PRESETS, ArchLike, CellSpace

__all__ = ["MAX_MESSAGE_BYTES", "SandboxBenchmark", "error_line", "serve", "traceback_text"]

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


# --------------------------------------------------------------------- messages
def _send(conn: Any, message: Mapping[str, Any]) -> None:
    conn.send_bytes(json.dumps(message).encode("utf-8"))


def _receive(conn: Any) -> dict[str, Any]:
    data = conn.recv_bytes(MAX_MESSAGE_BYTES)
    message = json.loads(data.decode("utf-8"))
    if not isinstance(message, dict):
        raise ValueError("a message must be a JSON object")
    return message


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
