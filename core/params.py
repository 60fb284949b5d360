"""Query parameters, declared once per list (names, types, enums).

The one declaration of a list serves twice:

- ``QueryParams.validate``: every request is checked before anything reads the
  database, and answers 400 naming every bad parameter at once: an unknown name
  (``GET /payments?disbursement_id=…`` must not silently list every payment), a
  value of the wrong type, out of range or not in the enum, a control character
  (a NUL byte would reach PostgreSQL, which refuses it: a 500);
- ``QueryParams.openapi``: the parameters of the operation in /openapi.json.

Validation is pure Python over the few parameters a request carries: no query.
The selectors still read and apply the filters; the declaration only lets valid
ones reach them.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date

from core.api import MAX_PAGE, APIError

MAX_UNKNOWN_NAMED = 10
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_INTEGER = re.compile(r"[0-9]{1,19}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TRUE, _FALSE = ("true", "1"), ("false", "0")


@dataclass(frozen=True)
class Param:
    """One query parameter.

    ``type``: string, integer, boolean, date (YYYY-MM-DD) or uuid. ``enum``: the
    values accepted (in any case when ``any_case``); ``many``: a comma
    list of them. ``maximum``/``minimum`` bound an integer; ``capped``: an integer
    above ``maximum`` is taken as ``maximum`` (SDP caps page_limit at 100)."""

    name: str
    type: str = "string"
    description: str = ""
    enum: tuple[str, ...] = ()
    many: bool = False
    any_case: bool = False
    minimum: int | None = None
    maximum: int | None = None
    capped: bool = False
    max_length: int = 256
    default: str | int | bool | None = None

    def error(self, raw: str) -> str | None:
        """What is wrong with ``raw``, or None."""
        if len(raw) > self.max_length:
            return f"at most {self.max_length} characters"
        if _CONTROL.search(raw):
            return "must not contain control characters"
        if self.type == "integer":
            return self._integer_error(raw)
        if self.type == "boolean":
            return None if raw.lower() in _TRUE + _FALSE else "use true or false"
        if self.type == "date":
            return None if _is_date(raw) else "invalid date format, use YYYY-MM-DD"
        if self.type == "uuid":
            try:
                uuid.UUID(raw)
            except ValueError:
                return "must be a UUID"
            return None
        if self.enum:
            values = [v.strip() for v in raw.split(",")] if self.many else [raw]
            allowed = self.enum
            if self.any_case:
                allowed = tuple(v.casefold() for v in self.enum)
            bad = [
                v
                for v in values
                if v and (v.casefold() if self.any_case else v) not in allowed
            ]
            if bad:
                return f"invalid value {bad[0][:32]!r}; allowed values: " + ", ".join(
                    self.enum
                )
        return None

    def _integer_error(self, raw: str) -> str | None:
        if not _INTEGER.fullmatch(raw):
            return "must be a positive integer"
        number = int(raw)
        if self.minimum is not None and number < self.minimum:
            return f"must be at least {self.minimum}"
        if self.maximum is not None and number > self.maximum and not self.capped:
            return f"must be at most {self.maximum}"
        return None

    def openapi(self):
        from drf_spectacular.types import OpenApiTypes
        from drf_spectacular.utils import OpenApiParameter

        kind = {
            "integer": OpenApiTypes.INT,
            "boolean": OpenApiTypes.BOOL,
            "date": OpenApiTypes.DATE,
            "uuid": OpenApiTypes.UUID,
        }.get(self.type, OpenApiTypes.STR)
        description = self.description
        if self.many:
            # A comma list (form style, not exploded), of these values.
            kind = {
                "type": "array",
                "items": {"type": "string", "enum": list(self.enum)},
            }
            description += (
                " One or more of " + ", ".join(self.enum) + ", comma-separated."
            )
        if self.type == "integer":
            kind = {"type": "integer"}
            if self.minimum is not None:
                kind["minimum"] = self.minimum
            if self.maximum is not None and not self.capped:
                kind["maximum"] = self.maximum
        return OpenApiParameter(
            self.name,
            kind,
            OpenApiParameter.QUERY,
            description=description.strip(),
            enum=list(self.enum) if self.enum and not self.many else None,
            style="form" if self.many else None,
            explode=False if self.many else None,
            default=self.default,
        )


def _is_date(raw: str) -> bool:
    if not _DATE.fullmatch(raw):
        return False
    try:
        date.fromisoformat(raw)
    except ValueError:
        return False
    return True


class QueryParams:
    """The query parameters a list (or its export) accepts."""

    def __init__(self, *params: Param | Iterable[Param]):
        flat: list[Param] = []
        for item in params:
            flat.extend([item] if isinstance(item, Param) else item)
        self.params = {p.name: p for p in flat}

    def __iter__(self):
        return iter(self.params.values())

    def validate(self, query) -> None:
        """Raise APIError (400) naming every unknown or invalid parameter of
        ``query`` (a QueryDict), with what is wrong with each."""
        errors: dict[str, str] = {}
        unknown = 0
        for name, values in query.lists():
            param = self.params.get(name)
            if param is None:
                unknown += 1
                if unknown <= MAX_UNKNOWN_NAMED:
                    errors[_printable(name)] = (
                        "unknown parameter; accepted: " + ", ".join(self.params)
                    )
                continue
            for raw in values:
                if raw == "":
                    continue
                if (message := param.error(raw)) is not None:
                    errors[name] = message
                    break
        if errors:
            raise APIError(extras=errors)

    def openapi(self) -> list:
        return [param.openapi() for param in self]

    def for_export(self) -> QueryParams:
        """The same parameters for the list's CSV export, which holds every row:
        paging is accepted (the dashboard sends the list's query) but ignored."""
        ignored = "Accepted and ignored: an export holds every row."
        return QueryParams(
            replace(p, description=ignored, default=None)
            if p.name in ("page", "page_limit")
            else p
            for p in self
        )


def _printable(name: str) -> str:
    return _CONTROL.sub("?", name)[:64] or "?"


def accepts(declaration: QueryParams) -> Callable:
    """A view method's query parameters: validated before it runs (after
    authentication and permissions, which DRF checks first) and documented in
    /openapi.json from the same declaration."""
    from drf_spectacular.utils import extend_schema

    def decorate(method: Callable) -> Callable:
        @functools.wraps(method)
        def checked(self, request, *args, **kwargs):
            declaration.validate(request.query_params)
            return method(self, request, *args, **kwargs)

        checked.query_params = declaration
        return extend_schema(parameters=declaration.openapi())(checked)

    return decorate


# --- the parameters lists share (SDP 6.5, reference §4.1) --------------------

PAGING = (
    Param(
        "page",
        "integer",
        "The page, from 1.",
        minimum=1,
        maximum=MAX_PAGE,
        max_length=19,
        default=1,
    ),
    Param(
        "page_limit",
        "integer",
        "Items per page; above 100 the page holds 100.",
        minimum=1,
        maximum=100,
        capped=True,
        max_length=19,
        default=20,
    ),
)
DATES = (
    Param(
        "created_at_after",
        "date",
        "Created on or after this day (YYYY-MM-DD, the organization's time zone).",
    ),
    Param(
        "created_at_before",
        "date",
        "Created on or before this day (YYYY-MM-DD); not before created_at_after.",
    ),
)


def search(description: str) -> Param:
    return Param("q", description=f"Search: {description}.")


def sorting(fields: Iterable[str], default: str, direction: str = "desc"):
    fields = tuple(fields)
    return (
        Param("sort", enum=fields, description="Sort by this field.", default=default),
        Param(
            "direction",
            enum=("asc", "desc"),
            any_case=True,
            description="Sort order (case-insensitive).",
            default=direction,
        ),
    )


def status(values: Iterable[str], description: str, *, many: bool = True) -> Param:
    return Param(
        "status",
        enum=tuple(values),
        many=many,
        any_case=True,
        description=f"{description} (case-insensitive).",
    )
