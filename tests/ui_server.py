"""Start `lineage ui` as a real server for tests, and fetch its pages over HTTP.

The server is a subprocess in the project folder on 127.0.0.1 and a free port (``--port 0``;
it prints the address it bound). Requests go through urllib, redirects not followed, so a
test sees each status and header as a browser would receive it.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.helpers import lineage_bin


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)


def _lower(headers: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


class UIServer:
    """`lineage ui --port 0` running in ``root``; ``stop()`` interrupts it as Ctrl-C does."""

    def __init__(self, root: Path, env: dict[str, str] | None = None, *args: str) -> None:
        self.process = subprocess.Popen(
            [lineage_bin(), "ui", "--port", "0", *args],
            cwd=root,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.first_line = self._read_line(60)
        self.url = self.first_line.split()[-1].rstrip("/")
        if not self.url.startswith("http://127.0.0.1:"):
            self.stop()
            raise AssertionError(f"lineage ui printed {self.first_line!r}")

    def _read_line(self, seconds: float) -> str:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], seconds)
        if not ready:
            self.stop()
            raise AssertionError("lineage ui printed no address in time")
        line = self.process.stdout.readline()
        if not line:
            _, err = self.process.communicate(timeout=10)
            raise AssertionError(f"lineage ui exited {self.process.returncode}: {err}")
        return line.strip()

    def get(self, path: str, headers: dict[str, str] | None = None, method: str = "GET") -> Reply:
        request = urllib.request.Request(self.url + path, headers=headers or {}, method=method)
        try:
            with _opener.open(request, timeout=60) as response:
                return Reply(response.status, _lower(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, _lower(error.headers), error.read())

    def stop(self) -> str:
        """Interrupt the server (SIGINT, as Ctrl-C); return what it wrote on stderr."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        err = self.process.stderr.read() if self.process.stderr else ""
        for stream in (self.process.stdout, self.process.stderr):
            if stream:
                stream.close()
        return err


def wait_until(check: Any, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)
