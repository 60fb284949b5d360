"""Query parameters every dashboard list shares (reference §4.1): status as a
comma list, created_at_after/before as YYYY-MM-DD, sort and direction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from core.api import APIError


def parse_date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise APIError(extras={name: "invalid date format, use YYYY-MM-DD"}) from None


def date_range(
    queryset: QuerySet[Any], params: Mapping[str, Any], field: str = "created_at"
) -> QuerySet[Any]:
    after = params.get("created_at_after")
    before = params.get("created_at_before")
    tz = timezone.get_current_timezone()
    if after:
        start = parse_date(after, "created_at_after")
        queryset = queryset.filter(
            **{f"{field}__gte": datetime.combine(start, time.min, tzinfo=tz)}
        )
    if before:
        end = parse_date(before, "created_at_before")
        if after and parse_date(after, "created_at_after") > end:
            raise APIError(
                extras={"created_at_after": "must be before created_at_before"}
            )
        queryset = queryset.filter(
            **{f"{field}__lte": datetime.combine(end, time.max, tzinfo=tz)}
        )
    return queryset


def ordering(
    params: Mapping[str, Any], allowed: dict[str, str], default: str
) -> list[str]:
    sort = params.get("sort") or default
    if sort not in allowed:
        raise APIError(extras={"sort": f"invalid sort field: {sort!s:.32}"})
    direction = (params.get("direction") or "desc").lower()
    if direction not in ("asc", "desc"):
        raise APIError(extras={"direction": "use asc or desc"})
    prefix = "-" if direction == "desc" else ""
    return [prefix + allowed[sort], prefix + "pk"]


def statuses(params: Mapping[str, Any], choices: Iterable[str]) -> list[str] | None:
    raw = params.get("status")
    if not raw:
        return None
    values = [v.strip().upper() for v in raw.split(",") if v.strip()]
    bad = [v for v in values if v not in choices]
    if bad:
        raise APIError(extras={"status": f"invalid status: {', '.join(bad)[:64]}"})
    return values
