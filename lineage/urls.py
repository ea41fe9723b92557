"""Show URLs safely: a password in a catalog or store URL never reaches output."""

from __future__ import annotations

import re

# Greedy to the last "@" of the URL token: a password may hold a raw "@" or "/".
_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<secret>\S*)(?P<tail>@)", re.I)


# libpq also takes the password as a query parameter: ...?password=secret
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&](?:password|passwd|pwd)=)(?P<secret>[^&#\s]*)", re.I)


def mask_url(url: str) -> str:
    """Return ``url`` with any password replaced by ``***``: a password never reaches output."""
    masked = _PASSWORD.sub(lambda m: f"{m['head']}***{m['tail']}", url)
    return _QUERY_PASSWORD.sub(lambda m: f"{m['head']}***", masked)
