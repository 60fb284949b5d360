"""``Idempotency-Key`` for the dashboard's POST and PATCH routes (beyond SDP).

The rows are ``core.models.IdempotencyKey``: the decorator serves every app's
views, so its table sits in the bottom library with it.

A decorator on a DRF view method. No transaction is held while the view runs
(a view may read Horizon, and no network call happens inside a database
transaction): the requests with one key are serialised by a PostgreSQL
session-level advisory lock on the key, held by this connection outside any
transaction and released when the answer is stored (or the connection dies).
Under it:

1. claim: one short transaction inserts the key's row (or finds it);
2. a stored answer is replayed (422 if the body differs); otherwise the view
   runs, its services committing their own transactions;
3. record: one statement stores the answer (status and body, errors included).

A concurrent request with the same key waits on the lock, then finds the
answer and replays it, so two concurrent requests have one effect. If the
process dies mid-view, the lock goes with its connection and the row has no
answer: the next request with the key runs the view again (whose own checks
then answer for what was already done). Keys live 24 hours.
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from datetime import timedelta
from functools import wraps

from django.db import connection, transaction
from django.http import HttpResponse
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import APIError
from core.models import IdempotencyKey

HEADER = "Idempotency-Key"
LIFETIME = timedelta(hours=24)


def fingerprint(request: Request) -> str:
    """What makes two requests "the same": method, path, query and body. A
    multipart body is hashed by its fields and file contents, not its bytes,
    because the boundary changes on every send."""
    digest = hashlib.sha256()
    query = request.META.get("QUERY_STRING", "")
    digest.update(f"{request.method} {request.path}?{query}\n".encode())
    if request.content_type.startswith("multipart/"):
        for name in sorted(request.data.keys()):
            if name in request.FILES:
                continue
            for value in request.data.getlist(name):
                digest.update(f"{name}={value}\n".encode())
        for name in sorted(request.FILES.keys()):
            for upload in request.FILES.getlist(name):
                digest.update(f"{name}:{upload.name}:".encode())
                for chunk in upload.chunks():
                    digest.update(chunk)
                upload.seek(0)
    else:
        digest.update(request.body)
    return digest.hexdigest()


def _replay(record) -> HttpResponse:
    response = HttpResponse(
        bytes(record.response_body or b""),
        status=record.response_status,
        content_type="application/json",
    )
    response["Idempotent-Replayed"] = "true"
    return response


def _body(response: HttpResponse) -> bytes:
    # A DRF Response is rendered later, by the view; an HttpResponse (JSON that
    # PostgreSQL wrote, core.sqljson) already carries its bytes.
    if isinstance(response, Response):
        return (
            JSONRenderer().render(response.data) if response.data is not None else b""
        )
    return response.content


def idempotent(view_method):
    @wraps(view_method)
    def wrapper(view, request: Request, *args, **kwargs):
        key = request.headers.get(HEADER, "").strip()
        if not key:
            return view_method(view, request, *args, **kwargs)
        if len(key) > 255 or not key.isprintable():
            raise APIError(extras={HEADER: "at most 255 printable characters"})
        print_ = fingerprint(request)
        organization = request.tenant
        with _key_lock(organization.pk, key):
            record = _claim(organization, key, request, print_, timezone.now())
            if record.response_status is not None:
                if record.fingerprint != print_:
                    raise APIError(
                        "this Idempotency-Key was used with a different request",
                        status_code=422,
                    )
                return _replay(record)
            try:
                response = view_method(view, request, *args, **kwargs)
            except Exception as exc:  # every error answer is stored too
                response = view.handle_exception(exc)  # re-raises unexpected errors
            IdempotencyKey.objects.filter(pk=record.pk).update(
                response_status=response.status_code, response_body=_body(response)
            )
            return response

    return wrapper


@contextmanager
def _key_lock(organization_id, key: str):
    """The key's advisory lock, on this connection's session (not a transaction:
    it is held while the view makes network calls). Waits while another
    request holds it."""
    digest = hashlib.sha256(f"{organization_id}:{key}".encode()).digest()
    lock_id = int.from_bytes(digest[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [lock_id])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_id])


def _claim(organization, key: str, request: Request, print_: str, now):
    """The key's row, created if new, started over if expired or if an earlier
    request with this key died before its answer (the lock is ours)."""
    with transaction.atomic():
        record, created = IdempotencyKey.objects.get_or_create(
            organization=organization,
            key=key,
            defaults={
                "fingerprint": print_,
                "method": request.method,
                "path": request.path[:255],
                "expires_at": now + LIFETIME,
            },
        )
        if created or (record.response_status is not None and record.expires_at > now):
            return record
        # An expired key, or one whose first request died: a new one.
        record.fingerprint = print_
        record.method = request.method
        record.path = request.path[:255]
        record.response_status = None
        record.response_body = None
        record.expires_at = now + LIFETIME
        record.save()
        return record
