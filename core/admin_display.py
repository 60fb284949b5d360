"""List columns for long tokens (hashes, Stellar addresses, ids): the start and
the end, with the whole value in the tooltip, so a list fits a laptop screen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.utils.html import format_html


def shortened(value: Any, keep: int = 6) -> str:
    text = "" if value is None else str(value)
    if len(text) <= 2 * keep + 1:
        return text or "-"
    return format_html('<span title="{}">{}…{}</span>', text, text[:keep], text[-keep:])


def short_column(
    field: str, description: str | None = None, keep: int = 6
) -> Callable[[Any], str]:
    """A list_display callable showing ``field`` shortened, sortable by it."""

    @admin.display(description=description or field.replace("_", " "), ordering=field)
    def column(obj: Any) -> str:
        return shortened(getattr(obj, field), keep)

    column.__name__ = f"short_{field}"
    return column
