"""The web app: routes, the JSON twin of every page, one-line error pages, the token check.

Every route is a GET; each page has a JSON twin at the same path plus ``.json``, or with
``Accept: application/json``. Bad input (a ref that names nothing, a filter that is not one)
is a 4xx page of one line; anything unexpected is logged on the server and shown as one line,
never as a traceback.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lineage import __version__, times
from lineage.errors import Ambiguous, LineageError, NotFound, UsageError
from lineage.ui import lineage_view, plan, run_page, runs, versions
from lineage.ui.page import Page, Query, Sources, check_hash, ref_url, run_url
from lineage.urls import mask_url

STATIC = Path(__file__).resolve().parent / "static"
TOKEN_COOKIE = "lineage_ui_token"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
log = logging.getLogger("lineage.ui")

# No inline script or style anywhere: what the page runs and how it looks comes from the
# package's own files, so an escaped-but-odd run name can never become code.
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("lineage.ui", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        when=lambda moment: times.format_time(moment) if moment else "",
        short=lambda hash_: (hash_ or "").partition(":")[2][:12] or (hash_ or ""),
        size=human_size,
        number=format_number,
        brief=lambda text: re.sub(r"\.\d+Z$", "Z", text or ""),
    )
    env.globals.update(run_url=run_url, ref_url=ref_url, version=__version__)
    return env


def human_size(size: int | None) -> str:
    """Return a byte count as people read it: ``812 B``, ``4.2 KiB``, ``1.3 GiB``."""
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def format_number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value)


def wants_json(request: Request) -> bool:
    """Return whether the JSON twin is asked for: a ``.json`` path or JSON first in Accept."""
    if request.url.path.endswith(".json"):
        return True
    accept = request.headers.get("accept", "")
    return accept.split(",")[0].strip().startswith("application/json")


def _json(document: Any, status: int = 200) -> Response:
    # As `lineage ... --json` prints it: NaN and infinities as they were logged.
    body = json.dumps(document, indent=2, default=str)
    return Response(body + "\n", status_code=status, media_type="application/json")


def _json_url(request: Request) -> str:
    path = request.url.path.rstrip("/") or "/runs"
    query = request.url.query
    return path + ("" if path.endswith(".json") else ".json") + (f"?{query}" if query else "")


def _strip(ref: str) -> str:
    return ref.removesuffix(".json")


class UI:
    """The pages over one catalog and store, and how each is served."""

    def __init__(self, sources: Sources) -> None:
        self.sources = sources
        self.env = _environment()

    def respond(self, request: Request, build: Callable[[], Page]) -> Response:
        page = build()
        if wants_json(request):
            return _json(page.data)
        template = self.env.get_template(page.template)
        body = template.render(
            title=page.title,
            data=page.data,
            path=request.url.path,
            json_url=_json_url(request),
            **page.html,
        )
        return HTMLResponse(body)

    def error(self, request: Request, status: int, message: str) -> Response:
        # One line, whatever the message held, and never a password (an unexpected error's
        # text may quote a URL the library did not get to mask).
        line = mask_url(" ".join(message.split()))
        if wants_json(request):
            return _json({"error": line}, status)
        body = self.env.get_template("error.html").render(
            title=f"{status}",
            status=status,
            message=line,
            path=request.url.path,
            json_url=_json_url(request),
        )
        return HTMLResponse(body, status_code=status)

    # -- routes ---------------------------------------------------------------------------

    def runs(self, request: Request) -> Response:
        return self.respond(request, lambda: runs.runs_page(self.sources, _query(request)))

    def run(self, request: Request) -> Response:
        ref = _strip(request.path_params["ref"])
        return self.respond(request, lambda: run_page.run_page(self.sources, ref))

    def versions(self, request: Request) -> Response:
        step, value = request.path_params["step"], _strip(request.path_params["value"])
        return self.respond(
            request, lambda: versions.versions_page(self.sources, step, value, _query(request))
        )

    def graph(self, request: Request) -> Response:
        ref = _strip(request.path_params["ref"])
        return self.respond(
            request, lambda: lineage_view.graph_page(self.sources, ref, _query(request))
        )

    def audit(self, request: Request) -> Response:
        ref = _strip(request.path_params["ref"])
        return self.respond(
            request, lambda: lineage_view.audit_page(self.sources, ref, _query(request))
        )

    def impact(self, request: Request) -> Response:
        ref = _strip(request.path_params["ref"])
        return self.respond(request, lambda: lineage_view.impact_page(self.sources, ref))

    def compare(self, request: Request) -> Response:
        return self.respond(request, lambda: runs.compare_page(self.sources, _query(request)))

    def plan(self, request: Request) -> Response:
        return self.respond(request, lambda: plan.plan_page(self.sources, _query(request)))

    def artifact(self, request: Request) -> Response:
        """Send a stored file by its whole hash, re-hashed on the way out of the store."""
        hash_ = check_hash(request.path_params["hash"])
        s = self.sources.session()
        artifact = s.catalog.get_artifact(hash_)
        if artifact is None:
            raise NotFound(f"no artifact {hash_} is recorded: copy a hash from a run page")
        if artifact.kind == "folder":
            raise UsageError(
                f"{hash_} is a folder: fetch it with `lineage artifacts get {hash_} -o PATH`"
            )
        folder = tempfile.mkdtemp(prefix="lineage-ui-")
        try:
            target = Path(folder) / "object"
            s.store.get_file(hash_, target)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        name = request.query_params.get("name") or hash_.replace(":", "-")
        filename = "".join(c for c in name if c.isalnum() or c in "._-") or "artifact"
        return FileResponse(
            target,
            filename=filename,
            media_type="application/octet-stream",
            background=BackgroundTask(shutil.rmtree, folder, True),
        )

    def home(self, request: Request) -> Response:
        return RedirectResponse("/runs", status_code=303)

    def favicon(self, request: Request) -> Response:
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")


def _query(request: Request) -> Query:
    return Query(request.query_params.multi_items())


def create_app(
    catalog: str | None = None,
    store: str | None = None,
    *,
    token: str | None = None,
    allowed_hosts: set[str] | None = None,
) -> ASGIApp:
    """Return the ASGI app over the project's catalog and store (or the URLs given).

    ``token``: every request must carry it (a ``?token=`` once, then a cookie, or an
    ``Authorization: Bearer`` header). ``allowed_hosts``: the Host names accepted (the loopback
    names when serving on loopback, against DNS rebinding); None accepts any.
    """
    ui = UI(Sources(catalog, store))

    def lineage_error(request: Request, error: Exception) -> Response:
        status = 400
        if isinstance(error, NotFound):
            status = 404
        elif isinstance(error, Ambiguous | UsageError):
            status = 400
        elif isinstance(error, LineageError):
            status = 503  # the catalog or store cannot be read: nothing wrong with the request
        return ui.error(request, status, str(error))

    def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        messages = {
            404: f"no page at {request.url.path}: start from /runs",
            405: "read-only: only GET",
        }
        return ui.error(request, error.status_code, messages.get(error.status_code, error.detail))

    def crash(request: Request, error: Exception) -> Response:
        log.exception("error serving %s", request.url.path)
        return ui.error(request, 500, f"internal error: {type(error).__name__}: {error}")

    routes = [
        Route("/", ui.home),
        Route("/favicon.ico", ui.favicon),
        Route("/runs", ui.runs),
        Route("/runs.json", ui.runs),
        Route("/runs/{ref:path}", ui.run),
        Route("/versions/{step}/{value:path}", ui.versions),
        Route("/graph/{ref:path}", ui.graph),
        Route("/audit/{ref:path}", ui.audit),
        Route("/impact/{ref:path}", ui.impact),
        Route("/compare", ui.compare),
        Route("/compare.json", ui.compare),
        Route("/plan", ui.plan),
        Route("/plan.json", ui.plan),
        Route("/artifacts/{hash}", ui.artifact),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            LineageError: lineage_error,
            HTTPException: http_error,
            Exception: crash,
        },
    )
    return Guard(app, token=token, allowed_hosts=allowed_hosts)


class Guard:
    """Check every request before the app sees it: GET only, the Host, the token.

    Pure ASGI (no per-request task) so it adds next to nothing to a page's time.
    """

    def __init__(self, app: ASGIApp, *, token: str | None, allowed_hosts: set[str] | None) -> None:
        self.app = app
        self.token = token.encode() if token else None
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + SECURITY_HEADERS
            await send(message)

        request = Request(scope)
        refusal = self._refuse(request)
        if refusal is not None:
            status, line = refusal
            await _plain(status, line)(scope, receive, send_with_headers)
            return
        given = request.query_params.get("token")
        if (
            self.token is not None
            and given is not None
            and hmac.compare_digest(given.encode(), self.token)
        ):
            # The token came in the address: keep it in a cookie and drop it from the URL, so
            # it is not left in the history, the links or a Referer.
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            target = request.url.path + ("?" + urlencode(rest) if rest else "")
            response = RedirectResponse(target, status_code=303)
            response.set_cookie(TOKEN_COOKIE, given, httponly=True, samesite="strict", path="/")
            await response(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)

    def _refuse(self, request: Request) -> tuple[int, str] | None:
        if request.method not in ("GET", "HEAD"):
            return 405, "read-only: the lineage UI answers GET only"
        if self.allowed_hosts is not None:
            host = _host_name(request.headers.get("host", ""))
            if host not in self.allowed_hosts:
                return 400, f"unknown Host {host!r}: open the address lineage ui printed"
        if self.token is None:
            return None
        offered = [
            request.query_params.get("token"),
            request.cookies.get(TOKEN_COOKIE),
            request.headers.get("x-lineage-token"),
        ]
        bearer = request.headers.get("authorization", "")
        if bearer.lower().startswith("bearer "):
            offered.append(bearer[7:].strip())
        for candidate in offered:
            if candidate is not None and hmac.compare_digest(candidate.encode(), self.token):
                return None
        return 401, "a token is needed: open the address with ?token=YOUR_TOKEN once"


def _host_name(header: str) -> str:
    """Return the host of a Host header without its port (``[::1]:8250`` -> ``::1``)."""
    if header.startswith("["):
        return header[1:].partition("]")[0]
    return header.rpartition(":")[0] if header.count(":") == 1 else header


def _plain(status: int, line: str) -> Response:
    return Response(f"{line}\n", status_code=status, media_type="text/plain; charset=utf-8")
