"""Conventions every dashboard route shares (dashboard-api.md §2.0).

- errors are ``{"error": message, "extras": {...}}`` with SDP's default messages;
- JSON bodies are parsed whatever the Content-Type (the dashboard sends some as
  text/plain);
- lists are ``{"data": [...], "pagination": {"next", "prev", "pages", "total"}}``
  with ``page`` and ``page_limit``;
- JSON is the only representation (``JSONNegotiation``).
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, parsers, serializers, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from core.fsm import InvalidTransition

logger = logging.getLogger(__name__)

DEFAULT_MESSAGES = {
    400: "The request was invalid in some way.",
    401: "Not authorized.",
    403: "You don't have permission to perform this action.",
    404: "Resource not found.",
    405: "Method not allowed.",
    409: "The resource already exists.",
    413: "Request body too large.",
    415: "Unsupported media type.",
    422: "Unprocessable entity.",
    429: "Too many requests.",
    500: "An internal error occurred while processing this request.",
    503: "Service unavailable.",
}


class APIError(Exception):
    """A domain error with the HTTP status and the message the dashboard shows."""

    status_code = 400

    def __init__(
        self,
        message: str | None = None,
        *,
        status_code: int | None = None,
        extras: dict[str, Any] | None = None,
        error_code: str | None = None,
    ):
        if status_code is not None:
            self.status_code = status_code
        self.message = message or DEFAULT_MESSAGES.get(self.status_code, "Error")
        self.extras = extras
        self.error_code = error_code
        super().__init__(self.message)


class Conflict(APIError):
    status_code = 409


class NotFound(APIError):
    status_code = 404


class Forbidden(APIError):
    status_code = 403


def error_body(
    status_code: int,
    message: str | None = None,
    extras: dict[str, Any] | None = None,
    error_code: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "error": message or DEFAULT_MESSAGES.get(status_code, "Error")
    }
    if extras:
        body["extras"] = extras
    if error_code:
        body["error_code"] = error_code
    return body


def error_response(
    status_code: int, message: str | None = None, **kw: Any
) -> JsonResponse:
    return JsonResponse(error_body(status_code, message, **kw), status=status_code)


def _flatten(detail: Any, prefix: str = "") -> dict[str, str]:
    """DRF's nested error detail as flat ``field: message`` pairs."""
    if isinstance(detail, dict):
        flat: dict[str, str] = {}
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors" and not prefix:
                name = "validation_error"
            flat.update(_flatten(value, name))
        return flat
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            return {
                prefix or "validation_error": " ".join(str(item) for item in detail)
            }
        flat = {}
        for index, item in enumerate(detail):
            flat.update(_flatten(item, f"{prefix}[{index}]"))
        return flat
    return {prefix or "validation_error": str(detail)}


class Choice(serializers.ChoiceField):
    """A choice whose error lists the values allowed, with what was sent:
    ``"SMS" is not a valid choice; allowed values: EMAIL, PHONE_NUMBER``."""

    default_error_messages = {
        "invalid_choice": "{input} is not a valid choice; allowed values: {allowed}"
    }

    def to_internal_value(self, data):
        if data == "" and self.allow_blank:
            return ""
        try:
            return self.choice_strings_to_values[str(data)]
        except KeyError:
            self.fail(
                "invalid_choice",
                input=json.dumps(str(data)[:64]),
                allowed=", ".join(self.choice_strings_to_values),
            )


def domain_check(clean, value, *args):
    """A field validator from a service's cleaner (which raises APIError): its
    message as the field's error, so a serializer reports it with every other
    invalid field at once instead of the service stopping at the first."""
    try:
        return clean(value, *args)
    except APIError as exc:
        messages = list((exc.extras or {}).values()) or [exc.message]
        raise serializers.ValidationError(messages) from exc


def field_errors(detail: Any) -> dict[str, str]:
    """A serializer's errors as the ``extras`` of SDP's error body."""
    return _flatten(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every error in SDP's shape; never a stack trace."""
    headers: dict[str, str] = {}
    if isinstance(exc, APIError):
        return Response(
            error_body(exc.status_code, exc.message, exc.extras, exc.error_code),
            status=exc.status_code,
        )
    if isinstance(exc, InvalidTransition):
        return Response(error_body(409, str(exc)), status=409)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    if not isinstance(exc, exceptions.APIException):
        return None  # Django's 500 handler answers (see handler500)
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(math.ceil(exc.wait))
    code = exc.status_code
    if isinstance(exc, exceptions.ValidationError):
        body = error_body(code, DEFAULT_MESSAGES[400], _flatten(exc.detail))
    elif isinstance(
        exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)
    ):
        code = status.HTTP_401_UNAUTHORIZED
        body = error_body(code)
    elif isinstance(exc, exceptions.ParseError):
        body = error_body(code, DEFAULT_MESSAGES[400], {"body": str(exc.detail)})
    else:
        body = error_body(code, DEFAULT_MESSAGES.get(code) or str(exc.detail))
    return Response(body, status=code, headers=headers)


def handler404(request, exception=None) -> JsonResponse:
    return error_response(404)


def handler500(request) -> JsonResponse:
    return error_response(500)


class AnyJSONParser(parsers.BaseParser):
    """JSON, whatever the Content-Type says (text/plain included).

    Every body of the API is an object: an array, a string or a number is a 400
    here, before a view reads ``request.data.get`` (a 500 on six routes). A NUL
    character in a string is refused here too, naming where it is: PostgreSQL
    cannot store one, and would answer a 500."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        if not raw.strip():
            return {}
        try:
            text = raw.decode("utf-8")
            data = json.loads(text)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise exceptions.ParseError("the body is not valid JSON") from exc
        except RecursionError as exc:
            raise exceptions.ParseError("the body is nested too deeply") from exc
        if not isinstance(data, dict):
            raise exceptions.ParseError("the body must be a JSON object")
        # Raw control characters are invalid JSON: a NUL can only come escaped.
        if "\\u0000" in text:
            try:
                where = nul_at(data)
            except RecursionError as exc:
                raise exceptions.ParseError("the body is nested too deeply") from exc
            if where:
                raise APIError(extras={where: "must not contain NUL characters"})
        return data


def nul_at(value: Any, path: str = "") -> str | None:
    """Where the first NUL character of parsed JSON is (``a.b[2]``), or None."""
    if isinstance(value, str):
        return (path or "body") if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return name.replace("\x00", "?")[:64] or "body"
            if found := nul_at(item, name):
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if found := nul_at(item, f"{path}[{index}]"):
                return found
    return None


DEFAULT_PARSERS = [parsers.MultiPartParser, parsers.FormParser, AnyJSONParser]


# What the dashboard (axios), browsers' fetch and HTTP tools send.
JSON_ACCEPTS = frozenset(
    {"", "*/*", "application/json", "application/json, text/plain, */*"}
)


class JSONNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, without parsing the usual Accept headers: with JSON as
    the one renderer, they can only choose it, and parsing them was a visible
    share of a list's Python (docs/performance.md). Any other header
    (text/html alone: 406) goes through DRF's rules."""

    def select_renderer(self, request, renderers, format_suffix=None):
        accept = request.META.get("HTTP_ACCEPT", "")
        if len(renderers) == 1 and not format_suffix and accept in JSON_ACCEPTS:
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)


# The largest page a list accepts: (page - 1) * page_limit must fit OFFSET's
# bigint; no list has two billion pages anyway.
MAX_PAGE = 2**31 - 1


class PageNumberPagination(BasePagination):
    """SDP's envelope: ``page`` (1-based), ``page_limit`` (default 20, at most 100)."""

    default_limit = 20
    max_limit = 100

    def paginate_queryset(self, queryset, request: Request, view=None):
        self.read_page(request)
        self.set_total(queryset.count())
        return list(queryset[self.start : self.start + self.limit])

    def read_page(self, request: Request) -> None:
        """``page`` and ``page_limit`` of the request (400 naming a bad one)."""
        self.request = request
        self.page = _positive_int(request.query_params.get("page"), "page", default=1)
        if self.page > MAX_PAGE:
            # OFFSET is a bigint: a page past it would be a 500 from PostgreSQL.
            raise APIError(extras={"page": f"must be at most {MAX_PAGE}"})
        self.limit = min(
            _positive_int(
                request.query_params.get("page_limit"),
                "page_limit",
                default=self.default_limit,
            ),
            self.max_limit,
        )
        self.start = (self.page - 1) * self.limit

    def set_total(self, total: int) -> None:
        self.total = total
        self.pages = math.ceil(total / self.limit) if total else 0

    def links(self) -> dict[str, Any]:
        pagination: dict[str, Any] = {"pages": self.pages, "total": self.total}
        url = self.request.build_absolute_uri()
        if self.page < self.pages:
            pagination["next"] = replace_query_param(url, "page", self.page + 1)
        if 1 < self.page <= self.pages:
            pagination["prev"] = replace_query_param(url, "page", self.page - 1)
        return pagination

    def get_paginated_response(self, data) -> Response:
        return Response({"data": data, "pagination": self.links()})


def _positive_int(value: str | None, name: str, *, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise APIError(extras={name: "parameter must be a positive integer"})
    return number


def route(pattern: str, view, name: str | None = None):
    """A URL that matches with or without a trailing slash (no redirect).

    ``pattern`` uses Django's converter syntax without slashes at either end,
    e.g. ``route("disbursements/<uuid:pk>", view)``.
    """
    from django.urls import re_path
    from django.urls.resolvers import RoutePattern

    regex = RoutePattern(pattern.strip("/"), is_endpoint=True).regex.pattern
    regex = regex.removesuffix(r"\Z").removesuffix("$")
    return re_path(regex + r"/?\Z", view, name=name)
