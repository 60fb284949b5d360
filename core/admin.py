"""Admin pieces every app's admin uses."""

from __future__ import annotations

from django.contrib import admin


class StatusHistoryInline(admin.TabularInline):
    """A row's status history (``core.fsm``): read-only, written only by
    transitions. Subclasses name the history ``model``."""

    fields = ("created_at", "from_status", "to_status", "actor", "note")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False
