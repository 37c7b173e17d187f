"""Joining a Ray cluster (or starting one on this machine), for cells and for shards of a cell.

The driver connects once; a process that is already connected (a Ray
worker running a cell that shards) uses its connection. Ray's own signal
handlers would abort the process on Ctrl-C or SIGTERM, so the runner's are
put back: an interrupted run still stops between commits.
"""

from __future__ import annotations

import signal

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
