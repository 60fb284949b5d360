"""Status machines: a transition table on each model, one way to move a row.

A model lists its allowed moves in ``TRANSITIONS`` and names the related manager
of its history rows in ``STATUS_HISTORY``. ``transition`` moves one row by a
conditional UPDATE (it succeeds only if nobody moved the row since it was read)
and appends the history row in the same database transaction;
``transition_many`` does the same for a set of rows in two statements. No other
code writes a status field.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar, cast

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from core.bulk import update_from_values


class InvalidTransition(Exception):
    """The move is not in the model's table, or the row moved concurrently."""


class StatusModel(models.Model):
    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {}
    STATUS_HISTORY: ClassVar[str] = "status_changes"

    status: Any
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def can_transition_to(self, new_status: str) -> bool:
        return new_status in self.TRANSITIONS.get(self.status, frozenset())

    @classmethod
    def history_model(cls) -> type[models.Model]:
        return cast(
            "type[models.Model]", cls._meta.get_field(cls.STATUS_HISTORY).related_model
        )

    @classmethod
    def history_fk(cls) -> str:
        relation = cast(
            "models.ForeignObjectRel", cls._meta.get_field(cls.STATUS_HISTORY)
        )
        return relation.field.name


class StatusChange(models.Model):
    """One entry of a row's status history: who or what moved it, when, and why."""

    from_status = models.CharField(max_length=32, blank=True)
    to_status = models.CharField(max_length=32)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        abstract = True
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        moved = f"{self.from_status or '-'} -> {self.to_status}"
        return f"{moved} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class ActorStatusChange(StatusChange):
    """A history entry that also records the dashboard user who acted, if any."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta(StatusChange.Meta):
        abstract = True


def transition(
    obj: StatusModel,
    *,
    to: str,
    note: str = "",
    updates: dict[str, Any] | None = None,
    **history: Any,
) -> StatusModel:
    """Move ``obj`` to ``to`` if the table allows it and nobody moved it first.

    ``updates`` are other columns written in the same UPDATE; ``history`` are extra
    fields of the history row (``actor``, a transaction hash, ...).
    Raises InvalidTransition.
    """
    model = type(obj)
    from_status = obj.status
    if not obj.can_transition_to(to):
        raise InvalidTransition(
            f"{model.__name__} {obj.pk}: {from_status} -> {to} is not allowed"
        )
    now = timezone.now()
    with transaction.atomic():
        # status is a subclass's field: the stubs see none on StatusModel
        rows = model._default_manager.filter(pk=obj.pk, status=from_status)  # type: ignore[misc]
        changed = rows.update(status=to, updated_at=now, **(updates or {}))  # type: ignore[misc]
        if changed != 1:
            raise InvalidTransition(
                f"{model.__name__} {obj.pk} changed concurrently "
                f"(expected {from_status})"
            )
        model.history_model()._default_manager.create(
            **{model.history_fk(): obj},
            from_status=from_status,
            to_status=to,
            note=note,
            created_at=now,
            **history,
        )
    obj.status = to
    obj.updated_at = now
    for field, value in (updates or {}).items():
        setattr(obj, field, value)
    return obj


def transition_many(
    queryset: models.QuerySet[Any],
    *,
    from_status: str | Iterable[str],
    to: str,
    note: str = "",
    updates: dict[str, Any] | None = None,
    row_updates: dict[Any, dict[str, Any]] | None = None,
    **history: Any,
) -> list[Any]:
    """Move every row of ``queryset`` that is in ``from_status`` to ``to``.

    Rows in another status are left alone. Returns the primary keys moved. The
    caller's transaction (or this one) covers the UPDATE and the history rows.
    ``row_updates`` maps primary keys to values of their own (every mapping names
    the same fields), written by the same UPDATE; its keys bound the rows moved.
    """
    model = queryset.model
    sources = {from_status} if isinstance(from_status, str) else set(from_status)
    for source in sources:
        if to not in model.TRANSITIONS.get(source, frozenset()):
            raise InvalidTransition(
                f"{model.__name__}: {source} -> {to} is not allowed"
            )
    now = timezone.now()
    history_model = model.history_model()
    fk = model.history_fk()
    with transaction.atomic():
        # Lock in primary-key order so two bulk moves cannot deadlock. Only this
        # model's rows: PostgreSQL cannot lock through an outer join in the filter.
        rows = list(
            queryset.filter(status__in=sources)
            .select_for_update(of=("self",))
            .order_by("pk")
            .values_list("pk", "status")
        )
        if row_updates is not None:
            rows = [(pk, status) for pk, status in rows if pk in row_updates]
        if not rows:
            return []
        pks = [pk for pk, _ in rows]
        constants = {"status": to, "updated_at": now, **(updates or {})}
        if row_updates is None and any(
            hasattr(value, "resolve_expression") for value in constants.values()
        ):
            model._default_manager.filter(pk__any=pks).update(**constants)
        else:
            # The keys as one array parameter: ``pk__in`` would bind one
            # parameter per row (10,000 for a large hand-off).
            update_from_values(
                model,
                {pk: (row_updates or {}).get(pk, {}) for pk in pks},
                also=constants,
            )
        _copy_history(history_model, fk, rows, to=to, note=note, now=now, **history)
    return pks


def _copy_history(
    history_model: type[models.Model],
    fk: str,
    rows: list[tuple[Any, str]],
    *,
    to: str,
    note: str,
    now: datetime,
    **history: Any,
) -> None:
    """The history rows of a bulk move, written with one COPY: building model
    instances for a whole upload's rows costs far more (docs/performance.md)."""
    meta = history_model._meta
    constant: dict[str, Any] = {"to_status": to, "note": note, "created_at": now}
    for name, value in history.items():
        field = cast("models.Field[Any, Any]", meta.get_field(name))
        if isinstance(value, models.Model):
            value = value.pk
        constant[str(field.column)] = value
    fk_column = str(cast("models.Field[Any, Any]", meta.get_field(fk)).column)
    for field in meta.concrete_fields:  # COPY knows no Python-side defaults
        if field.primary_key or field.column in (fk_column, "from_status"):
            continue
        constant.setdefault(str(field.column), field.get_default())
    columns = [fk_column, "from_status", *constant]
    tail = tuple(constant.values())
    sql = f"COPY {meta.db_table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        for pk, status in rows:
            copy.write_row((pk, status, *tail))
