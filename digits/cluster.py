"""A Dask client: on the cluster at a scheduler's address, or on a LocalCluster of this machine's cores."""

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def dask_client(workers: int | None, scheduler: str | None) -> Iterator:
    """A `dask.distributed.Client` of the scheduler at `scheduler`, or (None) of a LocalCluster of `workers` worker
    processes (None: one per core) with one thread each, closed on exit."""
    from dask.distributed import Client, LocalCluster

    if scheduler is not None:
        with Client(scheduler) as client:
            yield client
        return
    with (
        LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None, silence_logs=40) as cluster,
        Client(cluster) as client,
    ):
        yield client
