"""Dask clients for the generator and the runner: an existing cluster by address, or a
local cluster of single-threaded worker processes set up for CPU-bound numeric work."""

from __future__ import annotations

import logging
from typing import Any

from nasbench.core.errors import ConfigError

__all__ = ["LOCAL_CLUSTER_CONFIG", "connect"]

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
        except (OSError, TimeoutError) as exc:
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
