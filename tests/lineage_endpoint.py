"""A real OpenLineage HTTP endpoint on loopback for the tests: it keeps what it is sent.

``http.server`` in a thread on 127.0.0.1 (an ephemeral port), answering every POST with the
status the test sets; stopped when the test ends.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """What the endpoint received, and how it answers."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.paths: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.status = 201
        self.url = ""
        self.lock = threading.Lock()

    @property
    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(body) for body in self.bodies]


@contextmanager
def endpoint(path: str = "/api/v1/lineage") -> Iterator[Receiver]:
    """Serve an OpenLineage endpoint at ``http://127.0.0.1:PORT{path}`` while the block runs."""
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the exporter uses it

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                status = receiver.status
                if 200 <= status < 300:
                    receiver.bodies.append(body)
                    receiver.paths.append(self.path)
                    receiver.headers.append(dict(self.headers))
            reply = b"" if status < 300 else b'{"error": "told to fail"}'
            self.send_response(status)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def closed_port_url(path: str = "/api/v1/lineage") -> str:
    """Return a loopback URL whose port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"
