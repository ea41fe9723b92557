"""Serve the UI with uvicorn until interrupted: loopback by default, a token otherwise."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable

from lineage.errors import LineageError, UsageError
from lineage.ui.app import LOOPBACK_HOSTS, create_app

TOKEN_ENV = "LINEAGE_UI_TOKEN"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8250


def is_loopback(host: str) -> bool:
    """Return whether ``host`` names this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """Open the listening socket now, so a busy port is one clear error before serving."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise UsageError(f"cannot serve on host {host!r}: {error.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as error:
        sock.close()
        raise LineageError(
            f"cannot listen on {host}:{port}: {error.strerror}: choose another port"
        ) from None
    sock.set_inheritable(True)
    return sock


def address(sock: socket.socket, host: str) -> str:
    """Return the URL people open for a bound socket."""
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def serve(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    token: str | None = None,
    catalog: str | None = None,
    store: str | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the read-only UI until interrupted; ``on_ready`` gets the address once bound.

    A host other than loopback needs a token (``token`` or LINEAGE_UI_TOKEN): the catalog is
    then reachable from the network, and the token is checked on every request.
    """
    import uvicorn

    from lineage import api

    token = token or os.environ.get(TOKEN_ENV) or None
    loopback = is_loopback(host)
    if not loopback and not token:
        raise UsageError(
            f"serving on {host}, which other machines can reach, needs a token: "
            f"give one, or set {TOKEN_ENV}"
        )
    api.session(catalog, store)  # a missing project or unreadable catalog fails here, at once
    app = create_app(
        catalog,
        store,
        token=token,
        allowed_hosts=(LOOPBACK_HOSTS | {host}) if loopback else None,
    )
    sock = bind(host, port)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    if on_ready is not None:
        on_ready(address(sock, host))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
