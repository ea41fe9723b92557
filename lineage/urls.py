"""Show URLs safely: a password in a catalog or store URL never reaches output.

Two functions, for two kinds of text. ``shown_url`` is for a URL the user gave: masked when it
reads as a URL or a path, and not shown at all when it does not (a typo such as
``postgresql:/ana:pw@db`` or a libpq string ``host=db password=pw`` cannot be masked with any
confidence, so it is never echoed). ``mask_url`` is for any text that may hold one (a driver's
error message): every password-like part in it becomes ``***``.
"""

from __future__ import annotations

import re

NOT_SHOWN = "(URL not shown: it does not read as a URL)"

# A scheme with at least one slash: postgresql://, sqlite:///, and the typo postgresql:/.
_SCHEME = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.-]*:/{1,3})", re.I)
# user:password@ with no scheme before it, at the start of the text or of a word.
_BARE_USERINFO = re.compile(
    r"(?:^|(?<=[\s'\"(=]))(?P<user>[^\s:/@'\"(=]+):(?P<secret>(?!/)[^\s@]+)@"
)
# name=value pairs whose name says secret: libpq's password=, sslpassword=, a query's ?pwd=,
# s3's secret=, token=; a quoted value may hold blanks.
_SECRET_PAIR = re.compile(
    r"(?P<name>[\w.-]*(?:pass|pwd|secret|token|credential)[\w.-]*\s*=\s*)"
    r"(?P<value>'(?:[^'\\]|\\.)*'|\"[^\"]*\"|[^\s&#;,)]*)",
    re.I,
)
# A URL: a scheme and no blank before its userinfo's last "@", or a plain path.
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://[^\s]*$", re.I)
_PATH = re.compile(r"^[^\s:@=]+$")


def mask_url(text: str) -> str:
    """Return ``text`` with every password-like part replaced by ``***``.

    Covers ``scheme://user:password@host`` (the password may hold ``@``, ``/`` or blanks: it
    runs to the last ``@`` of the URL), the typo ``scheme:/user:password@``, ``user:password@host``
    without a scheme, and ``password=``, ``sslpassword=``, ``secret=``, ``token=`` pairs in a
    query string or a libpq keyword string.
    """
    masked = _mask_userinfo(text)
    masked = _BARE_USERINFO.sub(lambda m: f"{m['user']}:***@", masked)
    return _SECRET_PAIR.sub(lambda m: f"{m['name']}***", masked)


def _mask_userinfo(text: str) -> str:
    """Mask ``user:password@`` after each scheme; the password runs to the URL's last ``@``."""
    pieces = []
    last = 0
    for match in _SCHEME.finditer(text):
        if match.start() < last:
            continue
        start = match.end()
        # The URL ends at the next scheme (another URL in the same text) or at the text's end;
        # a blank inside it may belong to a password, so it does not end the URL.
        following = _SCHEME.search(text, start)
        end = following.start() if following else len(text)
        at = text.rfind("@", start, end)
        if at == -1:
            continue
        user, colon, _ = text[start:at].partition(":")
        if not colon or "/" in user or " " in user:
            continue
        pieces.append(text[last:start] + f"{user}:***")
        last = at
    pieces.append(text[last:])
    return "".join(pieces)


def shown_url(url: str) -> str:
    """Return how a catalog or store URL may be shown: masked, or not at all.

    A URL with a scheme (``postgresql://...``, ``s3://...``) or a plain path is shown with its
    password masked; anything else (``postgresql:/...``, ``ana:pw@db``, ``host=db password=pw``)
    may hold a password in a place no rule finds, so it is replaced by a note saying so.
    """
    if _URL.match(url) or _PATH.match(url) or _has_scheme_and_blanks_in_password(url):
        return mask_url(url)
    return NOT_SHOWN


def _has_scheme_and_blanks_in_password(url: str) -> bool:
    # postgresql://ana:pass word@db/x reads as a URL whose password holds a blank.
    head, sep, rest = url.partition("://")
    return (
        bool(sep)
        and re.match(r"^[a-z][a-z0-9+.-]*$", head, re.I) is not None
        and ("@" in rest and " " not in rest[rest.rfind("@") :])
    )


def redact(text: str, url: str) -> str:
    """Return a message with ``url`` (echoed by a driver, say) shown as ``shown_url`` shows it."""
    if url and url in text:
        text = text.replace(url, shown_url(url))
    return mask_url(text)
