"""OpenAPI building blocks every app's schemas share (drf-spectacular).

Declarations only: the routes render their own JSON (many in SQL, core.sqljson),
and a test holds each answer against the schema published at /openapi.json.

- ``ErrorBody``: every 4xx/5xx, ``{error, extras?, error_code?}`` (core.api);
- ``Message``: the ``{message}`` answers;
- ``page_of(Item)``: the list envelope ``{data: [Item], pagination}``;
- ``json_body``/``multipart_body``: a request body by the content types the
  dashboard sends (some JSON goes as text/plain: core.api.AnyJSONParser);
- ``answers``: an operation's responses, its errors included;
- ``Timestamp``, ``Money``, ``CountText``, ``BlankAsNull``, ``NullAsBlank``:
  fields that render a model's values as the SQL-written JSON writes them.
"""

from __future__ import annotations

import functools
from datetime import UTC
from typing import Any

from drf_spectacular import openapi
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers


class ErrorBody(serializers.Serializer):  # type: ignore[type-arg]
    """SDP's error: the message the dashboard shows, and per field what is wrong."""

    error = serializers.CharField()
    extras = serializers.DictField(required=False)
    error_code = serializers.CharField(required=False)


class Message(serializers.Serializer):  # type: ignore[type-arg]
    message = serializers.CharField()


class Token(serializers.Serializer):  # type: ignore[type-arg]
    token = serializers.CharField()


class Pagination(serializers.Serializer):  # type: ignore[type-arg]
    next = serializers.URLField(required=False)
    prev = serializers.URLField(required=False)
    pages = serializers.IntegerField(min_value=0)
    total = serializers.IntegerField(min_value=0)


@functools.cache
def page_of(
    item: type[serializers.Serializer[Any]],
) -> type[serializers.Serializer[Any]]:
    """The list envelope of ``item`` (component ``<Item>Page``)."""
    name = item.__name__.removesuffix("Serializer") + "Page"
    return type(
        name,
        (serializers.Serializer,),
        {
            "__module__": item.__module__,
            "__doc__": f"A page of {item.__name__}: ?page=1..pages, ?page_limit<=100.",
            "data": item(many=True),
            "pagination": Pagination(),
        },
    )


def json_body(serializer: Any, *, text_plain: bool = False) -> dict[str, Any]:
    """A JSON request body; ``text_plain``: the dashboard also sends it without
    a Content-Type (the browser labels it text/plain), parsed as JSON all the same."""
    media = {"application/json": serializer}
    if text_plain:
        media["text/plain"] = serializer
    return media


def csv_file() -> dict[Any, Any]:
    """A CSV download (an export, a disbursement's instructions)."""
    return answers(OpenApiTypes.BINARY, media="text/csv")


def multipart_body(serializer: Any, *, also_json: Any = None) -> dict[str, Any]:
    media = {"multipart/form-data": serializer}
    if also_json is not None:
        media["application/json"] = also_json
    return media


NO_CONTENT = OpenApiResponse(description="No content")

_ERROR = OpenApiResponse(ErrorBody, description="{error, extras}")


def answers(ok: Any, status: int = 200, *, media: str = "") -> dict[Any, Any]:
    """``ok`` at ``status`` (as ``media`` if not JSON), any 4xx/5xx as ErrorBody."""
    responses: dict[Any, Any] = {(status, media) if media else status: ok}
    responses["4XX"] = _ERROR
    responses["5XX"] = _ERROR
    return responses


ACTIONS = {"get": "read", "post": "create", "put": "replace", "patch": "update"}


class AutoSchema(openapi.AutoSchema):
    """Operation ids from the path and method, unique by construction:
    ``GET /disbursements/{id}/receivers`` is ``disbursements_by_id_receivers_read``
    (drf-spectacular's guess named a list and its item alike)."""

    def get_operation_id(self) -> str:
        tokens = [
            f"by_{part[1:-1]}" if part.startswith("{") else part.replace("-", "_")
            for part in self.path.strip("/").split("/")
        ]
        method = self.method.lower()
        return "_".join([*tokens, ACTIONS.get(method, method)])


# --- fields that render as the SQL-written answers do ------------------------------
# A resource's declaration (its app's schemas.py) renders model instances with
# these exactly as PostgreSQL writes its JSON (core.sqljson, core.jsontext), so
# the parity tests (tests/foundation/test_schema_parity.py) can hold one
# against the other field by field.

AMOUNT_HELP = "a decimal string with 7 places, e.g. '12.5000000'"


class Timestamp(serializers.DateTimeField):
    """UTC with microseconds and "Z", as core.sqljson.iso writes it."""

    def to_representation(self, value: Any) -> str | None:  # type: ignore[override]
        if not value:
            return None
        return str(
            value.astimezone(UTC)
            .isoformat(timespec="microseconds")
            .replace("+00:00", "Z")
        )


class Money(serializers.DecimalField):
    """An amount: a string with Stellar's 7 decimals (core.sqljson.money)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", AMOUNT_HELP)
        super().__init__(
            max_digits=38, decimal_places=7, coerce_to_string=True, **kwargs
        )


@extend_schema_field(OpenApiTypes.STR)
class CountText(serializers.IntegerField):
    """A count written as a string, as SDP writes some counters."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "a count, as a string (as SDP writes it)")
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str:  # type: ignore[override]
        return str(int(value))


class BlankAsNull(serializers.CharField):
    """Text that is null when empty (SQL ``nullif(column, '')``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_null=True, **kwargs)

    def to_representation(self, value: Any) -> str | None:  # type: ignore[override]
        return str(value) if value not in (None, "") else None


class NullAsBlank(serializers.CharField):
    """Text that is empty when null (SQL ``coalesce(column, '')``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_blank=True, **kwargs)

    def get_attribute(self, instance: Any) -> Any:
        # A serializer writes null for None without asking the field.
        value = super().get_attribute(instance)
        return "" if value is None else value
