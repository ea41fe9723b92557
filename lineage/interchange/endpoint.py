"""POST OpenLineage events to an HTTP endpoint (Marquez's ``/api/v1/lineage`` and the like).

One event per request, as every OpenLineage HTTP endpoint accepts, over one kept-alive
connection: a million events do not open a million connections. ``OPENLINEAGE_API_KEY`` in
the environment is sent as a bearer token, as OpenLineage's own clients do.
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl
from urllib.parse import urlsplit

from lineage.errors import InterchangeError, UsageError
from lineage.urls import mask_url

API_KEY_ENV = "OPENLINEAGE_API_KEY"
TIMEOUT = 10.0


class Endpoint:
    """An OpenLineage HTTP endpoint; ``post`` sends one event's JSON body."""

    def __init__(self, url: str, *, timeout: float = TIMEOUT) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(
                f"OpenLineage URL {mask_url(url)!r} is not an http(s) URL: give one such as "
                "http://localhost:5000/api/v1/lineage"
            )
        self.url = url
        self.masked_url = mask_url(url)
        self.timeout = timeout
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._headers = {"Content-Type": "application/json"}
        key = os.environ.get(API_KEY_ENV)
        if key:
            self._headers["Authorization"] = f"Bearer {key}"
        self._conn: http.client.HTTPConnection | None = None

    def __enter__(self) -> Endpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the kept-alive connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._https:
                self._conn = http.client.HTTPSConnection(
                    self._host,
                    self._port,
                    timeout=self.timeout,
                    context=ssl.create_default_context(),
                )
            else:
                self._conn = http.client.HTTPConnection(
                    self._host, self._port, timeout=self.timeout
                )
        return self._conn

    def post(self, body: bytes) -> None:
        """Send one event; raise InterchangeError unless the endpoint answers 2xx."""
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request("POST", self._path, body=body, headers=self._headers)
                response = conn.getresponse()
                detail = response.read(300)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as e:
                # A kept-alive connection the server closed meanwhile: once more on a new one.
                self.close()
                if attempt == 1:
                    continue
                raise self._unreachable(e) from None
            except (OSError, http.client.HTTPException) as error:
                self.close()
                raise self._unreachable(error) from None
            if response.will_close:
                self.close()
            if 200 <= response.status < 300:
                return
            text = detail.decode("utf-8", "replace").strip().splitlines()
            said = f": {text[0][:200]}" if text else ""
            raise InterchangeError(
                f"OpenLineage endpoint {self.masked_url} answered {response.status} "
                f"{response.reason}{said}"
            )

    def _unreachable(self, error: BaseException) -> InterchangeError:
        if isinstance(error, socket.timeout | TimeoutError):
            reason = f"no answer within {self.timeout:g} s"
        else:
            reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        return InterchangeError(
            f"cannot reach OpenLineage endpoint {self.masked_url}: {reason}: check that it "
            "is up and the URL is right"
        )
