"""Dask for the generator and the runner: a client of an existing cluster by address, or of
a local cluster of single-threaded worker processes set up for CPU-bound numeric work, and
one way to run many jobs on it with a bounded number in flight."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from nasbench.core.errors import ConfigError

__all__ = ["LOCAL_CLUSTER_CONFIG", "connect", "run_on_cluster"]

#: Dask settings for the local cluster. Dask's nannies start workers with
#: MALLOC_TRIM_THRESHOLD_=65536; setting any malloc threshold turns off glibc's dynamic mmap
#: threshold, so every tensor above 128 KiB is mapped and unmapped anew. Measured here, a
#: Fashion-MNIST job took 1.0 s per epoch in a worker against 0.6 s in a plain process, so the
#: environment handed to workers is replaced by one without it (threads still pinned to one).
#: The statistical profiler samples the working thread every 10 ms; the jobs do not need it.
LOCAL_CLUSTER_CONFIG: dict[str, Any] = {
    "distributed.nanny.pre-spawn-environ": {
        "OMP_NUM_THREADS": 1,
        "MKL_NUM_THREADS": 1,
        "OPENBLAS_NUM_THREADS": 1,
    },
    "distributed.worker.profile.enabled": False,
}


def connect(workers: int, scheduler: str | None) -> tuple[Any, Any]:
    """(client, local cluster or None): the cluster at ``scheduler``, else ``workers`` local
    single-threaded worker processes. Close the client, then the cluster, when done."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            return Client(scheduler, timeout="20s"), None
        except (OSError, TimeoutError, ValueError) as exc:  # ValueError: a malformed address
            raise ConfigError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    with dask.config.set(LOCAL_CLUSTER_CONFIG):
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            # the scheduler's HTTP server (health, metrics) on a free port, not 8787
            scheduler_kwargs={"dashboard_address": ":0"},
            silence_logs=logging.ERROR,
        )
    return Client(cluster), cluster


def run_on_cluster(
    function: Callable[[Any], Any],
    payloads: Iterable[Any],
    *,
    workers: int,
    scheduler: str | None,
    key: Callable[[Any], str],
    slots_per_thread: int,
) -> Iterator[tuple[Any, Any, BaseException | None]]:
    """``(payload, result, None)`` of ``function(payload)`` for every payload, as they finish,
    on the cluster :func:`connect` gives; ``(payload, None, exception)`` for a job whose
    future raised (it could not start or run). At most ``slots_per_thread`` jobs per worker
    thread are in flight, so a long payload iterator is never submitted at once. ``key``
    names each job's future (unique per job). The client and cluster close at the end."""
    from distributed import as_completed

    client, cluster = connect(workers, scheduler)
    try:
        pending = iter(payloads)
        slots = slots_per_thread * max(1, sum(client.nthreads().values()))
        futures = as_completed()
        payload_of: dict[str, Any] = {}

        def submit_next() -> bool:
            payload = next(pending, None)
            if payload is None:
                return False
            future = client.submit(function, payload, pure=False, key=key(payload))
            payload_of[future.key] = payload
            futures.add(future)
            return True

        for _ in range(slots):
            if not submit_next():
                break
        for future in futures:
            payload = payload_of.pop(future.key)
            try:
                yield payload, future.result(), None
            except Exception as exc:  # the job's own failure, reported by the caller
                yield payload, None, exc
            submit_next()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
