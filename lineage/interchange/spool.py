"""Emit OpenLineage events as runs start and end, through a local spool that never holds a run.

With ``[openlineage] url = "http://host:5000/api/v1/lineage"`` in lineage.toml, the launcher
(and the SDK, for runs it records itself) emits a START event when a run is recorded and its
end event when the run ends. Emitting writes the event to a file in
``.lineage/openlineage/spool/`` (a local write of a few KiB) and wakes a background thread
that POSTs the spool, oldest first, deleting each file once the endpoint took it. So:

* an endpoint that is down or slow never fails or slows a run: the run goes on while the
  thread tries (2 s timeout), and what it could not send stays in the spool;
* the spool is sent later by the next emission (any run that starts or ends in this project),
  or at once by ``lineage export openlineage --flush``;
* a process about to exit gives the thread at most ``EXIT_WAIT`` seconds to finish sending;
  what is left stays spooled;
* one process sends at a time (a lock file), so two launchers never send an event twice.

Whatever goes wrong while emitting (a malformed ``[openlineage]``, the endpoint refusing, a
bug) is written to ``.lineage/openlineage/last-error``, which ``--flush`` reports; the run
itself never sees it.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineage import times
from lineage.errors import InterchangeError, InvalidPipeline

if TYPE_CHECKING:
    from lineage.session import Session

SPOOL = Path("openlineage") / "spool"
LAST_ERROR = Path("openlineage") / "last-error"
SEND_TIMEOUT = 2.0
EXIT_WAIT = 2.0
_counter = itertools.count()


def configured_url(config: dict[str, Any]) -> str | None:
    """Return ``[openlineage] url`` of lineage.toml, None when unset; refuse a malformed one."""
    section = config.get("openlineage")
    if section is None:
        return None
    if not isinstance(section, dict):
        raise InvalidPipeline(
            'lineage.toml: [openlineage] must be a table, like [openlineage] url = "http://..."'
        )
    url = section.get("url")
    if url is None:
        return None
    if not isinstance(url, str) or not url.strip():
        raise InvalidPipeline(
            "lineage.toml: [openlineage] url must be a non-empty string, such as "
            'url = "http://localhost:5000/api/v1/lineage"'
        )
    return url.strip()


def spool_dir(state_dir: Path) -> Path:
    """Return the folder where events wait to be sent."""
    return state_dir / SPOOL


def pending(state_dir: Path) -> list[Path]:
    """Return the spooled events, oldest first."""
    directory = spool_dir(state_dir)
    if not directory.is_dir():
        return []
    return sorted(directory.glob("*.json"))


def last_error(state_dir: Path) -> str | None:
    """Return the last thing that went wrong while emitting, if it was not sent since."""
    try:
        return (state_dir / LAST_ERROR).read_text().strip() or None
    except OSError:
        return None


def emit(session: Session, run_id: str, *, ended: bool) -> None:
    """Spool the START (or end) event of a run and wake the sender; never raise.

    Does nothing (not even an import) unless lineage.toml sets ``[openlineage] url``.
    """
    config = session.project.config
    if "openlineage" not in config:
        return
    state_dir = session.project.state_dir
    try:
        url = configured_url(config)
        if url is None:
            return
        from lineage.interchange import openlineage as ol

        run = session.catalog.get_run(run_id)
        (record,) = ol.load_records(session.catalog, [run])
        settings = ol.settings_for(session.project.root, config)
        event = ol.end_event(record, settings) if ended else ol.start_event(record, settings)
        if event is None:
            return
        _write(spool_dir(state_dir), ol.dumps(event))
        _sender(state_dir, url).wake()
    except Exception as error:  # a run must never fail for its lineage events
        _note(state_dir, error)


def _write(directory: Path, body: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    # Names sort in the order events were made, across processes; written under a temporary
    # name and renamed, so a sender never reads half an event.
    name = f"{time.time_ns():020d}-{os.getpid()}-{next(_counter):06d}.json"
    temporary = directory / f".{name}.tmp"
    temporary.write_bytes(body)
    os.replace(temporary, directory / name)
    return directory / name


def _note(state_dir: Path, error: BaseException) -> None:
    text = str(error) if isinstance(error, InterchangeError | InvalidPipeline) else repr(error)
    line = f"{times.format_time(times.now())} {text.splitlines()[0] if text else ''}\n"
    with contextlib.suppress(OSError):
        (state_dir / LAST_ERROR).parent.mkdir(parents=True, exist_ok=True)
        (state_dir / LAST_ERROR).write_text(line)


# -- sending ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _sending_lock(directory: Path, *, wait: bool) -> Iterator[bool]:
    """Hold the spool's lock file; yield False at once when another process holds it."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def send_spool(
    state_dir: Path,
    url: str,
    *,
    wait: bool = True,
    timeout: float = SEND_TIMEOUT,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """POST every spooled event, oldest first, deleting each once sent; return how many.

    Stops at the first failure with an InterchangeError; the events not sent stay spooled.
    """
    from lineage.interchange.endpoint import Endpoint

    directory = spool_dir(state_dir)
    sent = 0
    with _sending_lock(directory, wait=wait) as held:
        if not held:
            return 0  # another process is sending this spool right now
        with Endpoint(url, timeout=timeout) as endpoint:
            while True:
                waiting = pending(state_dir)
                if not waiting:
                    break
                for path in waiting:
                    try:
                        body = path.read_bytes()
                    except FileNotFoundError:
                        continue
                    endpoint.post(body)
                    path.unlink(missing_ok=True)
                    sent += 1
                    if progress:
                        progress(sent, sent + len(pending(state_dir)))
    with contextlib.suppress(OSError):
        (state_dir / LAST_ERROR).unlink(missing_ok=True)
    return sent


@dataclass
class FlushResult:
    """What ``--flush`` sent and what is still waiting."""

    sent: int
    left: int
    url: str


def flush(
    state_dir: Path,
    config: dict[str, Any],
    *,
    url: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> FlushResult:
    """Send the spool now to ``url`` (default ``[openlineage] url``); raise if it cannot."""
    from lineage.errors import UsageError
    from lineage.interchange.endpoint import TIMEOUT
    from lineage.urls import mask_url

    target = url or configured_url(config)
    if target is None:
        raise UsageError(
            "no OpenLineage URL to send the spool to: set [openlineage] url in lineage.toml "
            "or give the URL to send to"
        )
    sent = 0
    try:
        sent = send_spool(state_dir, target, timeout=TIMEOUT, progress=progress)
    except InterchangeError as error:
        left = len(pending(state_dir))
        raise InterchangeError(f"{error} ({left} events still spooled)") from None
    return FlushResult(sent, len(pending(state_dir)), mask_url(target))


class _Sender:
    """The background thread that sends one project's spool; woken by every emission."""

    def __init__(self, state_dir: Path, url: str) -> None:
        self.state_dir = state_dir
        self.url = url
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        with self._lock:
            self._wake.set()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="lineage-openlineage-sender", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            # Checked under the lock wake() takes: a wake that comes as the thread finishes
            # either is seen here or starts a new thread, never lost in between.
            with self._lock:
                if not self._wake.is_set():
                    self._thread = None
                    return
                self._wake.clear()
            try:
                send_spool(self.state_dir, self.url, wait=False)
            except Exception as error:  # the spool keeps the events; say why they wait
                _note(self.state_dir, error)

    def join(self, timeout: float) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)


_senders: dict[tuple[Path, str], _Sender] = {}
_senders_lock = threading.Lock()


def _sender(state_dir: Path, url: str) -> _Sender:
    with _senders_lock:
        sender = _senders.get((state_dir, url))
        if sender is None:
            if not _senders:
                atexit.register(wait, EXIT_WAIT)
            sender = _senders[(state_dir, url)] = _Sender(state_dir, url)
        return sender


def wait(timeout: float = EXIT_WAIT) -> None:
    """Give the senders of this process up to ``timeout`` seconds in all to finish."""
    deadline = time.monotonic() + timeout
    for sender in list(_senders.values()):
        sender.join(max(0.0, deadline - time.monotonic()))
