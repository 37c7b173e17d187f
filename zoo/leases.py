"""Leases let several ``zoo bench`` processes share one store's work.

Before a cell starts, its runner takes a lease on it in the store (a row
naming the runner, with an expiry). Another runner skips a cell that is
stored or leased by a live runner, so N runners do one runner's work between
them. A heartbeat thread renews the runner's leases while it runs; a runner
that dies stops renewing and its leases expire, and on the same machine a
lease whose process is gone is taken over at once.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
import uuid

LEASE_SECONDS = 60.0  # a dead runner's cells are free again after this long (at once on the same machine)
HOST = socket.gethostname()


def new_holder() -> str:
    """A runner's name in the store: host, process id and a random part (a reused pid is another runner)."""
    return f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def is_stale(holder: str) -> bool:
    """True when ``holder`` ran on this machine and its process no longer exists."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != HOST or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


class Heartbeat:
    """Renews ``holder``'s leases every third of their lifetime, on its own connection, until stopped."""

    def __init__(self, path, holder: str, seconds: float = LEASE_SECONDS):
        self.path, self.holder, self.seconds = path, holder, seconds
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="zoo-lease-heartbeat", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.thread.join()

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=30)
        try:
            while not self.stop_event.wait(self.seconds / 3):
                try:
                    with conn:
                        conn.execute("UPDATE leases SET expires = ? WHERE holder = ?", (time.time() + self.seconds, self.holder))
                except sqlite3.Error:  # a busy or full store: the next beat tries again, the lease has time left
                    pass
        finally:
            conn.close()
