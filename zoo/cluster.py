"""Joining a Ray cluster (or starting one on this machine), for cells and for shards of a cell.

The driver connects once; a process that is already connected (a Ray
worker running a cell that shards) uses its connection. Ray's own signal
handlers would abort the process on Ctrl-C or SIGTERM, so the runner's are
put back: an interrupted run still stops between commits.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager

from zoo.errors import ZooError


def connect(address: str | None):
    """The ``ray`` module, connected to ``address`` (None: ``RAY_ADDRESS`` if set, else a new local cluster)."""
    try:
        import ray
    except ImportError:
        raise ZooError("running on Ray needs Ray: pip install 'zoo[distributed]'") from None
    if ray.is_initialized():
        return ray
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:  # connect before any cell starts, so a bad address is a message, not a failed run
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    except Exception as error:
        raise ZooError(f"--ray-address {address}: cannot start or join a Ray cluster ({error}); "
                       "give the head's address (e.g. ray://head:10001) or leave it out for a local one") from None
    finally:
        for sig, handler in handlers.items():
            if handler is not None:
                try:
                    signal.signal(sig, handler)
                except ValueError:  # not the main thread: Ray could not have installed its own either
                    pass
    return ray


@contextmanager
def local_cluster(nodes: int, cpus: int = 1):
    """A Ray cluster of ``nodes`` nodes of ``cpus`` cores on this machine, this process its driver (``zoo speed --shards``)."""
    try:
        import ray
        from ray.cluster_utils import Cluster
    except ImportError:
        raise ZooError("a local Ray cluster needs Ray: pip install 'zoo[distributed]'") from None

    if ray.is_initialized():
        raise ZooError("a Ray connection is already open in this process; a local cluster needs its own")
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": cpus, "include_dashboard": False})
    try:
        for _ in range(nodes - 1):
            cluster.add_node(num_cpus=cpus)
        cluster.wait_for_nodes()
        connect(cluster.address)
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()
