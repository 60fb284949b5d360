"""Short registration links, ``<base URL>/r/<code>``, as SDP (§6.1): a code of
up to 10 characters, reused for the same URL, and the view that redirects."""

from __future__ import annotations

import secrets
import string

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponseRedirect

from receivers.models import ShortURL
from sdp.urlschemes import is_forbidden_scheme

CODE_LENGTH = 8
_ALPHABET = string.ascii_letters + string.digits


def _new_code() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH))


def short_link(base_url: str, code: str) -> str:
    return f"{(base_url or settings.BASE_URL).rstrip('/')}/r/{code}"


def shorten_many(urls: list[str]) -> dict[str, str]:
    """Code for each URL (existing ones reused), new ones written with one bulk
    INSERT in the caller's transaction. Returns {url: code}."""
    wanted = list(dict.fromkeys(urls))
    codes = dict(
        ShortURL.objects.filter(original_url__in=wanted).values_list(
            "original_url", "code"
        )
    )
    missing = [url for url in wanted if url not in codes]
    while missing:
        rows = [ShortURL(code=_new_code(), original_url=url) for url in missing]
        try:
            # A savepoint, so a rare code collision does not spoil the caller's
            # transaction: draw again for that batch.
            with transaction.atomic():
                ShortURL.objects.bulk_create(rows, batch_size=2000)
        except IntegrityError:
            continue
        codes.update({row.original_url: row.code for row in rows})
        missing = []
    return codes


def shorten(url: str, *, base_url: str = "") -> str:
    """``<base URL>/r/<code>`` for ``url``."""
    return short_link(base_url, shorten_many([url])[url])


class _AnySchemeRedirect(HttpResponseRedirect):
    # Wallet deep links use their own schemes (wallet://...); only URLs this
    # platform stored are ever redirected to.
    allowed_schemes = None  # type: ignore[assignment]

    def __init__(self, redirect_to: str):
        from urllib.parse import urlsplit

        self.allowed_schemes = [urlsplit(redirect_to).scheme or "https"]
        super().__init__(redirect_to)


def redirect_view(request: HttpRequest, code: str) -> HttpResponseRedirect:
    """GET /r/<code>: 302 to the signed registration link."""
    original = (
        ShortURL.objects.filter(code=code)
        .values_list("original_url", flat=True)
        .first()
    )
    # Rows stored before deep links were checked: never hand a browser a
    # javascript:, data:, file: or vbscript: URL.
    if original is None or is_forbidden_scheme(original):
        raise Http404("unknown link")
    return _AnySchemeRedirect(original)
