"""Claims: two resolvers that want to launch the same step for the same inputs launch it once.

Before launching, a resolver takes a claim whose key names exactly what it would launch (step,
key value, params, code, and the hashes of its inputs). A second resolver that finds the claim
taken waits for it to be released, then decides again, and so reuses the first one's run. A
claim whose holder has died (same host: its pid is gone; another host: no heartbeat for
``STALE_AFTER``) is taken over instead of waited on forever.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import timedelta

from lineage import hashing, times
from lineage.catalog import Catalog, ClaimRecord
from lineage.liveness import pid_alive

HEARTBEAT_SECONDS = 10.0
STALE_AFTER = timedelta(seconds=60)
POLL_SECONDS = 0.25


def claim_key(
    step: str,
    value: str,
    params_hash: str | None,
    code_hash: str | None,
    inputs: Sequence[str],
) -> str:
    """Return the claim key of launching ``step`` for ``value`` on these inputs."""
    document = json.dumps(
        [step, value, params_hash, code_hash, sorted(inputs)], separators=(",", ":")
    )
    return hashing.hash_bytes(document.encode())


def holder_alive(claim: ClaimRecord) -> bool:
    """Return whether the process holding a claim still runs."""
    if claim["host"] == socket.gethostname():
        return pid_alive(claim["pid"])
    return times.now() - claim["heartbeat_at"] < STALE_AFTER


class Holder:
    """This process, as the holder of claims."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.host = socket.gethostname()
        self.pid = os.getpid()

    def try_claim(self, key: str, label: str) -> bool:
        """Take the claim, taking over a dead holder's; return False when a live one has it."""
        for _ in range(3):
            if self.catalog.claim(key, label, self.host, self.pid):
                return True
            current = self.catalog.get_claim(key)
            if current is None:
                continue  # released in between: try again
            if (current["host"], current["pid"]) == (self.host, self.pid):
                return True  # ours already: never wait on ourselves
            if holder_alive(current):
                return False
            # Its holder died: drop its claim (only if still the same holder) and retry.
            self.catalog.release_claim(key, current["host"], current["pid"])
        return False

    def wait(self, key: str, on_wait: Callable[[ClaimRecord], None] | None = None) -> None:
        """Block until the claim ``key`` is released or its holder dies."""
        told = False
        while True:
            current = self.catalog.get_claim(key)
            if current is None or not holder_alive(current):
                return
            if on_wait and not told:
                on_wait(current)
                told = True
            time.sleep(POLL_SECONDS)

    @contextmanager
    def holding(self, key: str) -> Iterator[Callable[[str], None]]:
        """Keep a taken claim alive while the block runs; release it after.

        Yields a function that records the launched run's id on the claim.
        """
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(HEARTBEAT_SECONDS):
                # A missed heartbeat only makes the claim look older; the launch goes on.
                with suppress(Exception):
                    self.catalog.update_claim(key)

        thread = threading.Thread(target=beat, name="lineage-claim-heartbeat", daemon=True)
        thread.start()
        try:
            yield lambda run_id: self.catalog.update_claim(key, run_id=run_id)
        finally:
            stop.set()
            thread.join(timeout=5)
            self.catalog.release_claim(key, self.host, self.pid)
