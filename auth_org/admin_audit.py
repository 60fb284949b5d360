"""Every change made through the Django admin, of any model, in the audit log:
who, from where, which row, and each changed field before and after.

``audit_admin_sites`` (called by the project shell once the admins are
registered) gives every registered ModelAdmin the ``AuditedAdmin`` hooks, so
no admin module (nor a third-party one) can forget them. Covered: add, change
(with its inlines), delete (one or selected) and every action, whose before and
after are read back from the database around it. Secret-bearing fields are
recorded as the fact that they changed, never their value.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin import helpers
from django.contrib.admin.sites import all_sites
from django.db import models

from auth_org.audit import record, request_ip
from auth_org.models import Organization

SECRET_WORDS = ("password", "secret", "hash", "token", "otp", "seed", "encrypted")
HIDDEN = "(hidden)"
# An action over more rows than this records their ids, not their values.
MAX_SNAPSHOTS = 500


def _is_secret(field: models.Field) -> bool:
    name = field.name.lower()
    # "key": a TOTP device's seed (django-otp), an API key's material.
    is_key = name == "key" or name.endswith("_key")
    return (
        isinstance(field, models.BinaryField)
        or is_key
        or any(w in name for w in SECRET_WORDS)
    )


def snapshot(obj: models.Model) -> dict[str, Any]:
    """The row's concrete field values (foreign keys by id), secrets hidden."""
    values: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        key = field.attname
        values[key] = HIDDEN if _is_secret(field) else field.value_from_object(obj)
    return values


def diff(before: dict | None, after: dict | None) -> dict[str, dict]:
    before, after = before or {}, after or {}
    changed = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new and old != HIDDEN:
            continue
        if old == HIDDEN or new == HIDDEN:
            if before and after:
                continue  # the value is unknown: it cannot be compared or shown
            changed[key] = {"before": None, "after": None, "hidden": True}
            continue
        changed[key] = {"before": old, "after": new}
    return changed


def _organization_of(obj: models.Model | None) -> Organization | None:
    if isinstance(obj, Organization):
        return obj if obj.pk else None
    organization_id = getattr(obj, "organization_id", None) or getattr(
        obj, "tenant_id", None
    )
    if organization_id is None:
        return None
    return Organization.objects.filter(pk=organization_id).first()


def _label(model: type[models.Model]) -> str:
    return model._meta.label_lower


class AuditedAdmin:
    """Mixed in before a ModelAdmin class; writes an AuditEntry per admin write."""

    def _audit(self, request, action: str, obj, changes: dict) -> None:
        record(
            f"admin.{action}",
            organization=_organization_of(obj),
            actor=getattr(request, "user", None),
            ip_address=request_ip(request),
            target=obj,
            changes={"model": _label(self.model), **changes},
        )

    def _before(self, obj) -> dict | None:
        if obj.pk is None or obj._state.adding:
            return None
        current = type(obj)._default_manager.filter(pk=obj.pk).first()
        return snapshot(current) if current is not None else None

    def save_model(self, request, obj, form, change):
        before = self._before(obj) if change else None
        super().save_model(request, obj, form, change)
        after = snapshot(obj)
        self._audit(
            request, "change" if change else "add", obj, {"fields": diff(before, after)}
        )

    def save_related(self, request, form, formsets, change):
        obj = form.instance
        many = [f for f in obj._meta.many_to_many if f.name in form.changed_data]
        before = {f.name: _m2m(obj, f) for f in many} if change else {}
        super().save_related(request, form, formsets, change)
        after = {f.name: _m2m(obj, f) for f in many}
        fields = diff(before, after)
        if fields:
            self._audit(request, "change", obj, {"fields": fields})

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        for obj in getattr(formset, "new_objects", []):
            self._audit(request, "add", obj, {"fields": diff(None, snapshot(obj))})
        for obj, changed in getattr(formset, "changed_objects", []):
            fields = {
                name: {"after": HIDDEN if _is_secret(obj._meta.get_field(name))
                       else getattr(obj, obj._meta.get_field(name).attname, None)}
                for name in changed if _has_field(obj, name)
            }  # fmt: skip
            self._audit(request, "change", obj, {"fields": fields})
        for obj in getattr(formset, "deleted_objects", []):
            self._audit(request, "delete", obj, {"fields": diff(snapshot(obj), None)})

    def delete_model(self, request, obj):
        before = snapshot(obj)
        pk = obj.pk
        super().delete_model(request, obj)
        obj.pk = obj.pk or pk
        self._audit(request, "delete", obj, {"fields": diff(before, None)})

    def delete_queryset(self, request, queryset):
        rows = [(obj, snapshot(obj)) for obj in queryset]
        super().delete_queryset(request, queryset)
        for obj, before in rows:
            self._audit(request, "delete", obj, {"fields": diff(before, None)})

    def response_action(self, request, queryset):
        name = request.POST.get("action", "")
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        select_across = request.POST.get("select_across") == "1"
        # delete_selected records each deletion itself (delete_queryset).
        if name == "delete_selected" or not name:
            return super().response_action(request, queryset)
        rows = queryset if select_across else queryset.filter(pk__in=selected)
        before = {str(o.pk): snapshot(o) for o in rows[: MAX_SNAPSHOTS + 1]}
        response = super().response_action(request, queryset)
        if len(before) > MAX_SNAPSHOTS:
            self._audit(
                request, "action", None,
                {"action": name, "objects": sorted(before)[:MAX_SNAPSHOTS],
                 "truncated": True},
            )  # fmt: skip
            return response
        after = {
            str(o.pk): snapshot(o)
            for o in self.model._default_manager.filter(pk__in=list(before))
        }
        objects = {pk: diff(before[pk], after.get(pk)) for pk in sorted(before)}
        first = rows.first() if len(before) == 1 else None
        self._audit(request, "action", first, {"action": name, "objects": objects})
        return response


def _m2m(obj: models.Model, field: models.ManyToManyField) -> list[str]:
    return sorted(
        str(pk) for pk in getattr(obj, field.name).values_list("pk", flat=True)
    )


def _has_field(obj, name: str) -> bool:
    try:
        obj._meta.get_field(name)
    except Exception:
        return False
    return True


def audit_admin_sites() -> None:
    """Give every ModelAdmin of every admin site the audit hooks (idempotent)."""
    for site in list(all_sites):
        for model_admin in site._registry.values():
            cls = type(model_admin)
            if issubclass(cls, AuditedAdmin):
                continue
            model_admin.__class__ = type(
                f"Audited{cls.__name__}", (AuditedAdmin, cls), {}
            )
