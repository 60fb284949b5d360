"""Admin pieces every app's admin uses."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class StatusHistoryInline(admin.TabularInline):  # type: ignore[type-arg]
    """A row's status history (``core.fsm``): read-only, written only by
    transitions. Subclasses name the history ``model``."""

    fields = ("created_at", "from_status", "to_status", "actor", "note")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
