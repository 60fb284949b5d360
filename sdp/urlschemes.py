"""Which URL schemes may be handed to a browser (a redirect, a link in a text).

Browsers drop ASCII tabs and newlines anywhere in a URL and leading spaces and
control characters before parsing it, so ``" java\tscript:alert(1)"`` is a
``javascript:`` URL; the scheme is read the same way here.
"""

from __future__ import annotations

import re

# Schemes that run code or read local data in the browser that follows them.
FORBIDDEN_SCHEMES = frozenset(
    {"javascript", "vbscript", "data", "file", "blob", "filesystem", "about"}
)
_IGNORED = re.compile(r"[\t\n\r]")
_LEADING = re.compile(r"^[\x00-\x20]+")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")


def url_scheme(url: str) -> str:
    """The scheme a browser would read in ``url`` (lower case), or ""."""
    cleaned = _LEADING.sub("", _IGNORED.sub("", url or ""))
    match = _SCHEME.match(cleaned)
    return match.group(1).lower() if match else ""


def is_forbidden_scheme(url: str) -> bool:
    """True for ``javascript:``, ``data:``, ``file:``, ``vbscript:`` and the like."""
    return url_scheme(url) in FORBIDDEN_SCHEMES
