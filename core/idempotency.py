"""``Idempotency-Key`` for the dashboard's POST and PATCH routes (beyond SDP).

The rows are ``core.models.IdempotencyKey``: the decorator serves every app's
views, so its table sits in the bottom library with it.

A decorator on a DRF view method. The first request with a key inserts the
IdempotencyKey row and keeps it locked while the view runs, in one transaction;
its answer (status and body, errors included) is stored in that row. A concurrent
request with the same key waits on the unique index, then finds the answer and
replays it, so two concurrent requests have one effect. The same key with another
request body answers 422. Keys live 24 hours.

The view runs inside this transaction, so its services' ``on_commit`` tasks are
queued when the answer is stored, never for a request that was rolled back.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from functools import wraps

from django.db import IntegrityError, transaction
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
        now = timezone.now()
        with transaction.atomic():
            record = _claim(organization, key, request, print_, now)
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
            body = _body(response)
            IdempotencyKey.objects.filter(pk=record.pk).update(
                response_status=response.status_code, response_body=body
            )
            return response

    return wrapper


def _claim(organization, key: str, request: Request, print_: str, now):
    """The key's row, locked. Inserting blocks while another transaction holds an
    uncommitted row with this key; it then fails and the committed row is read."""
    rows = IdempotencyKey.objects.select_for_update()
    record = rows.filter(organization=organization, key=key).first()
    if record is None:
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(
                    organization=organization,
                    key=key,
                    fingerprint=print_,
                    method=request.method,
                    path=request.path[:255],
                    expires_at=now + LIFETIME,
                )
        except IntegrityError:
            record = rows.get(organization=organization, key=key)
    if record.expires_at <= now:
        # An expired key starts over as a new one.
        record.fingerprint = print_
        record.method = request.method
        record.path = request.path[:255]
        record.response_status = None
        record.response_body = None
        record.expires_at = now + LIFETIME
        record.save()
    return record
