"""Reads the dashboard needs: counters and amounts by aggregate queries, never
per-row Python loops over payments."""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum

from auth_org.models import Asset, Organization
from core import sqljson
from core.api import APIError
from core.ids import prefix_range
from core.listing import date_range, ordering, statuses
from core.params import DATES, PAGING, Param, QueryParams, search, sorting, status
from core.sqljson import table
from disbursements.models import Disbursement, Payment, PaymentTally
from receivers.models import Receiver, ReceiverWallet

logger = logging.getLogger(__name__)

ZERO = Decimal("0")
PAYMENT_STATUSES = [s.lower() for s in Payment.Status.values]
WALLET_STATUSES = [s.lower() for s in ReceiverWallet.Status.values]


def money(value: Decimal | None) -> str:
    return f"{(value or ZERO):.7f}"


# A disbursement's counters and amounts, summed from its payment tallies (a few
# rows each) rather than from its payments: a LATERAL subquery for the
# disbursement aliased ``d``, giving ``stats.<key>`` for each of STATS_KEYS.
# The average is rounded half to even, as Decimal.quantize rounds it.
DISBURSEMENT_STATS_JOIN = f"""
LEFT JOIN LATERAL (
    SELECT total AS total_payments, sent AS total_payments_sent,
        failed AS total_payments_failed, canceled AS total_payments_canceled,
        total - sent - failed - canceled AS total_payments_remaining,
        amount AS total_amount, disbursed AS amount_disbursed,
        coalesce((quotient + CASE
            WHEN 2 * remainder > total THEN 1
            WHEN 2 * remainder = total THEN mod(quotient, 2)
            ELSE 0 END) * 0.0000001, 0) AS average_amount
    FROM (
        SELECT *, div(amount * 10000000, nullif(total, 0)) AS quotient,
            mod(amount * 10000000, nullif(total, 0)) AS remainder
        FROM (
            SELECT coalesce(sum(t.count), 0)::bigint AS total,
                coalesce(sum(t.count) FILTER (WHERE t.status = 'SUCCESS'), 0)::bigint
                    AS sent,
                coalesce(sum(t.count) FILTER (WHERE t.status = 'FAILED'), 0)::bigint
                    AS failed,
                coalesce(sum(t.count) FILTER (WHERE t.status = 'CANCELED'), 0)::bigint
                    AS canceled,
                coalesce(sum(t.amount), 0) AS amount,
                coalesce(sum(t.amount) FILTER (WHERE t.status = 'SUCCESS'), 0)
                    AS disbursed
            FROM {table(PaymentTally)} t WHERE t.disbursement_id = d.id
        ) AS sums
    ) AS parts
) AS stats ON true
"""  # noqa: S608
STATS_KEYS = (
    "total_payments",
    "total_payments_sent",
    "total_payments_failed",
    "total_payments_canceled",
    "total_payments_remaining",
    "total_amount",
    "amount_disbursed",
    "average_amount",
)
STATS_AMOUNTS = {"total_amount", "amount_disbursed", "average_amount"}


def disbursement_stats(ids: list) -> dict[Any, dict[str, Any]]:
    """Counters and amounts of several disbursements (DISBURSEMENT_STATS_JOIN):
    counters as numbers, amounts as strings with 7 decimals."""
    columns = ", ".join(f"stats.{key}" for key in STATS_KEYS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM unnest(%s::uuid[]) WITH ORDINALITY"  # noqa: S608
            f" AS d(id, ord) {DISBURSEMENT_STATS_JOIN} ORDER BY d.ord",
            [[None if i is None else uuid.UUID(str(i)) for i in ids]],
        )
        rows = cursor.fetchall()
    return {
        disbursement_id: {
            key: money(value) if key in STATS_AMOUNTS else value
            for key, value in zip(STATS_KEYS, row, strict=True)
        }
        for disbursement_id, row in zip(ids, rows, strict=True)
    }


def statistics(organization: Organization, disbursement_id=None) -> dict[str, Any]:
    """SDP's statistics shape (dashboard §2.3), with three grouped queries."""
    payments = Payment.objects.filter(organization=organization)
    tallies = PaymentTally.objects.filter(organization_id=organization.pk)
    wallets = ReceiverWallet.objects.filter(organization=organization)
    receivers = Receiver.objects.filter(organization=organization)
    if disbursement_id is not None:
        payments = payments.filter(disbursement_id=disbursement_id)
        tallies = tallies.filter(disbursement_id=disbursement_id)
        wallets = wallets.filter(
            pk__in=payments.values("receiver_wallet_id").distinct()
        )
        receivers = receivers.filter(pk__in=payments.values("receiver_id").distinct())
    counters = dict.fromkeys(PAYMENT_STATUSES, 0)
    by_asset: dict[str, dict[str, Decimal]] = {}
    asset_counts: dict[str, int] = defaultdict(int)
    rows = [
        row
        for row in tallies.values("status", "asset_id")
        .annotate(count=Sum("count"), amount=Sum("amount"))
        .order_by()
        if row["count"]
    ]
    codes = dict(
        Asset.objects.filter(pk__in={row["asset_id"] for row in rows}).values_list(
            "pk", "code"
        )
    )
    for row in rows:
        code = codes[row["asset_id"]]
        counters[row["status"].lower()] += row["count"]
        amounts = by_asset.setdefault(code, dict.fromkeys(PAYMENT_STATUSES, ZERO))
        amounts[row["status"].lower()] += row["amount"] or ZERO
        asset_counts[code] += row["count"]
    counters["total"] = sum(counters.values())
    wallet_counters = dict.fromkeys(WALLET_STATUSES, 0)
    for row in wallets.values("status").annotate(count=Count("pk")).order_by():
        wallet_counters[row["status"].lower()] += row["count"]
    wallet_counters["total"] = sum(wallet_counters.values())
    amounts_by_asset = []
    for code, amounts in sorted(by_asset.items()):
        total = sum(amounts.values(), ZERO)
        average = total / asset_counts[code] if asset_counts[code] else ZERO
        amounts_by_asset.append(
            {
                "asset_code": code,
                "payment_amounts": {
                    **{k: money(v) for k, v in amounts.items()},
                    "average": money(average.quantize(Decimal("1e-7"))),
                    "total": money(total),
                },
            }
        )
    if disbursement_id is None:
        total_disbursements = Disbursement.objects.filter(
            organization=organization
        ).count()
    else:
        total_disbursements = 1
    return {
        "payment_counters": counters,
        "payment_amounts_by_asset": amounts_by_asset,
        "receiver_wallets_counters": wallet_counters,
        "total_receivers": receivers.count(),
        "total_disbursements": total_disbursements,
    }


STATISTICS_TTL = 10
# A copy past its TTL still answers while one request computes the next one.
STATISTICS_KEEP = 600
REFRESH_LOCK_SECONDS = 10


def cached_statistics(
    organization: Organization, disbursement_id=None
) -> dict[str, Any]:
    """statistics(), fresh for STATISTICS_TTL seconds: with 100,000 receivers the
    receiver and wallet counts take tens of milliseconds, and the home page asks
    on every visit. Past the TTL, one request recomputes (a lock in the cache)
    while the others answer the previous figures instead of all computing at
    once, so figures may lag by the TTL plus one computation (at most
    REFRESH_LOCK_SECONDS more if that request died); the lists are always fresh."""
    from django.core.cache import cache
    from redis.exceptions import RedisError

    key = f"statistics:{organization.pk}:{disbursement_id or ''}"
    try:
        entry = cache.get(key)
        if entry is not None:
            computed_at, figures = entry
            if time.time() - computed_at < STATISTICS_TTL:
                return figures
            if not cache.add(f"{key}:refresh", 1, REFRESH_LOCK_SECONDS):
                return figures
    except (RedisError, OSError):
        # Redis down: the figures straight from the database (issue 16.14).
        logger.warning("statistics served uncached: the cache is unreachable")
        return statistics(organization, disbursement_id)
    started = time.time()
    figures = statistics(organization, disbursement_id)
    try:
        cache.set(key, (started, figures), STATISTICS_KEEP)
        cache.delete(f"{key}:refresh")
    except (RedisError, OSError):
        logger.warning("statistics not cached: the cache is unreachable")
    return figures


RECEIVER_STATS = f"""
SELECT p.receiver_id, p.receiver_wallet_id, p.status, a.code, a.issuer,
    count(*), sum(p.amount)
FROM {table(Payment)} p JOIN {table(Asset)} a ON a.id = p.asset_id
WHERE p.receiver_id = ANY(%s)
GROUP BY p.receiver_id, p.receiver_wallet_id, p.status, a.code, a.issuer
"""  # noqa: S608
RECEIVER_STATS_COLUMNS = (
    "receiver_id",
    "receiver_wallet_id",
    "status",
    "asset__code",
    "asset__issuer",
    "count",
    "amount",
)


def receiver_stats(ids: list) -> dict[Any, dict[str, Any]]:
    """Per receiver and per receiver wallet: counters and received amounts."""
    # Fixed SQL: the ORM spends more CPU building this grouped query than
    # PostgreSQL needs to answer it.
    with connection.cursor() as cursor:
        cursor.execute(RECEIVER_STATS, [[uuid.UUID(str(i)) for i in ids]])
        rows = [
            dict(zip(RECEIVER_STATS_COLUMNS, values, strict=True))
            for values in cursor.fetchall()
        ]
    per_receiver: dict[Any, dict[str, Any]] = {
        rid: {"count": defaultdict(int), "received": defaultdict(lambda: ZERO)}
        for rid in ids
    }
    per_wallet: dict[Any, dict[str, Any]] = defaultdict(
        lambda: {"count": defaultdict(int), "received": defaultdict(lambda: ZERO)}
    )
    for row in rows:
        for entry in (
            per_receiver[row["receiver_id"]],
            per_wallet[row["receiver_wallet_id"]],
        ):
            entry["count"][row["status"]] += row["count"]
            if row["status"] == Payment.Status.SUCCESS:
                entry["received"][(row["asset__code"], row["asset__issuer"])] += (
                    row["amount"] or ZERO
                )
    return {"receivers": per_receiver, "wallets": per_wallet}


def counters_of(entry: dict[str, Any]) -> dict[str, Any]:
    count = entry["count"]
    total = sum(count.values())
    done = (
        count[Payment.Status.SUCCESS]
        + count[Payment.Status.FAILED]
        + count[Payment.Status.CANCELED]
    )
    return {
        "total_payments": str(total),
        "successful_payments": str(count[Payment.Status.SUCCESS]),
        "failed_payments": str(count[Payment.Status.FAILED]),
        "canceled_payments": str(count[Payment.Status.CANCELED]),
        "remaining_payments": str(total - done),
    }


# --- lists -----------------------------------------------------------------


DISBURSEMENT_SORTS = {"name": "name", "created_at": "created_at"}
PAYMENT_SORTS = {"created_at": "created_at", "updated_at": "updated_at"}

# What the disbursements list and its export accept (SDP 6.5's disbursement
# query validator); what disbursements_for() reads.
DISBURSEMENT_PARAMS = QueryParams(
    PAGING,
    status(Disbursement.Status.values, "Only disbursements in these statuses"),
    search("the disbursement's name contains this text"),
    DATES,
    sorting(DISBURSEMENT_SORTS, "created_at"),
)
# What the payments list and its export accept; what payments_for() reads.
PAYMENT_PARAMS = QueryParams(
    PAGING,
    status(Payment.Status.values, "Only payments in these statuses"),
    Param("receiver_id", "uuid", "Only the payments of this receiver."),
    Param(
        "type",
        enum=tuple(Payment.Type.values),
        any_case=True,
        description="DIRECT payments or DISBURSEMENT ones (case-insensitive).",
    ),
    search(
        "the payment's id, or its external payment id, receiver's Stellar address"
        " or disbursement's name contains this text"
    ),
    DATES,
    sorting(PAYMENT_SORTS, "updated_at"),
)


def disbursements_for(organization: Organization, params) -> QuerySet[Disbursement]:
    queryset = Disbursement.objects.filter(organization=organization)
    if values := statuses(params, Disbursement.Status.values):
        queryset = queryset.filter(status__in=values)
    if q := params.get("q"):
        queryset = queryset.filter(name__icontains=q)
    queryset = date_range(queryset, params)
    return queryset.order_by(*ordering(params, DISBURSEMENT_SORTS, "created_at"))


def payments_for(organization: Organization, params) -> QuerySet[Payment]:
    queryset = Payment.objects.filter(organization=organization)
    if values := statuses(params, Payment.Status.values):
        queryset = queryset.filter(status__in=values)
    if receiver_id := params.get("receiver_id"):
        queryset = queryset.filter(receiver_id=_uuid(receiver_id, "receiver_id"))
    if kind := params.get("type"):
        if kind.upper() not in Payment.Type.values:
            raise APIError(extras={"type": "use DIRECT or DISBURSEMENT"})
        queryset = queryset.filter(type=kind.upper())
    if q := params.get("q"):
        match = (
            Q(external_payment_id__icontains=q)
            | Q(receiver_wallet__stellar_address__icontains=q)
            | Q(disbursement__name__icontains=q)
        )
        # SDP matches part of an id (p.id ILIKE); here its start, as a range
        # of the primary key.
        if (keys := prefix_range(q)) is not None:
            match |= Q(pk__range=keys)
        queryset = queryset.filter(match)
    queryset = date_range(queryset, params)
    return queryset.order_by(*ordering(params, PAYMENT_SORTS, "updated_at"))


# The payments list's filters that payment tallies can answer: status (a column
# of the tallies) and type (DISBURSEMENT has a disbursement, DIRECT none: a
# check constraint of Payment).
TALLIED_FILTERS = {"status", "type"}
PAGING_PARAMS = {"page", "page_limit", "sort", "direction"}


def payments_total(organization: Organization, params) -> int | None:
    """The exact number of payments payments_for() lists, summed from the
    tallies (a few rows per disbursement, not a count over the organization's
    payments); None when a filter needs the payments themselves."""
    used = {k for k, v in params.items() if v} - PAGING_PARAMS
    if used - TALLIED_FILTERS:
        return None
    # Hand-written and prepared: the ORM's aggregate took longer to build than
    # PostgreSQL took to answer, on every page of the payments list.
    sql = (
        f"SELECT coalesce(sum(count), 0) FROM {table(PaymentTally)}"  # noqa: S608
        " WHERE organization_id = %s"
    )
    args: list[Any] = [organization.pk]
    if values := statuses(params, Payment.Status.values):
        sql += " AND status = ANY(%s)"
        args.append(values)
    if kind := params.get("type"):
        kind = kind.upper()
        if kind not in Payment.Type.values:
            return None  # payments_for() answers the error
        direct = kind == Payment.Type.DIRECT
        sql += f" AND disbursement_id IS {'' if direct else 'NOT '}NULL"
    return int(sqljson.fetch_text(sql, args))


def disbursement_payments_total(disbursement_id) -> int:
    """How many payments a disbursement has, from its tallies."""
    total = PaymentTally.objects.filter(disbursement_id=disbursement_id).aggregate(
        total=Sum("count")
    )["total"]
    return total or 0


def _uuid(value: str, name: str | None):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        if name is None:
            return None
        raise APIError(extras={name: "invalid id"}) from None


# The payment figures the dashboard shows with receivers (disbursements.receivers_api):
# of one receiver or one receiver wallet, as subqueries to join LATERAL.
# ``{column}`` is a payment column of FIGURES_OF, ``{key}`` the SQL it equals
# (e.g. ``r.id``): both come from the code, never from a request.
#
# PAYMENT_FIGURES_SQL reads them in one scan and one plain aggregate: grouping
# them by asset or wallet (a sort or a hash table set up again for every
# receiver) cost more than everything else on a receivers page. It tells instead
# whether the successful payments share one asset and all share one receiver
# wallet, as nearly all do, by comparing each with the first payment read
# (``ref``; min() and max() of their text, PostgreSQL 15 having none of uuid,
# cost much more); the others are grouped by RECEIVED_SQL. Three
# filtered counts, not four: each filter costs about as much as the count.
PAYMENT_FIGURES_SQL = """(SELECT f.total, f.successful, f.failed, f.canceled,
    f.total - f.successful - f.failed - f.canceled AS remaining, f.received,
    CASE WHEN f.one_asset THEN ref.asset_id END AS received_asset_id,
    CASE WHEN f.one_wallet THEN ref.receiver_wallet_id END AS receiver_wallet_id
    FROM (SELECT 1) AS one
    LEFT JOIN LATERAL (SELECT p.asset_id, p.receiver_wallet_id
        FROM {payment} p WHERE p.{column} = {key} LIMIT 1) AS ref ON true
    CROSS JOIN LATERAL (SELECT count(*) AS total,
        count(*) FILTER (WHERE fp.status = 'SUCCESS') AS successful,
        count(*) FILTER (WHERE fp.status = 'FAILED') AS failed,
        count(*) FILTER (WHERE fp.status = 'CANCELED') AS canceled,
        sum(fp.amount) FILTER (WHERE fp.status = 'SUCCESS') AS received,
        bool_and(fp.asset_id = ref.asset_id) FILTER (WHERE fp.status = 'SUCCESS')
            AS one_asset,
        bool_and(fp.receiver_wallet_id = ref.receiver_wallet_id) AS one_wallet
        FROM {payment} fp WHERE fp.{column} = {key}) AS f)"""
RECEIVED_SQL = """(SELECT fa.code AS asset_code, fa.issuer AS asset_issuer,
    sum(fp.amount) AS amount
    FROM {payment} fp JOIN {asset} fa ON fa.id = fp.asset_id
    WHERE fp.{column} = {key} AND fp.status = 'SUCCESS'
    GROUP BY fa.code, fa.issuer)"""
FIGURES_OF = {"receiver_id", "receiver_wallet_id"}


def payment_figures_sql(column: str, key: str) -> str:
    """One row of the payments with ``column`` = ``key``: how many in all
    (total) and by outcome (successful, failed, canceled, remaining: the
    others); the sum of the successful ones' amounts (received, NULL without
    any); the asset of the successful ones when they share one
    (received_asset_id; NULL if they have several, and may be NULL when the
    first payment read has another asset: received_sql tells); the receiver
    wallet of them all when they share one (receiver_wallet_id, else NULL)."""
    if column not in FIGURES_OF:
        raise ValueError(f"no payment figures by {column}")
    return PAYMENT_FIGURES_SQL.format(column=column, key=key, payment=table(Payment))


def received_sql(column: str, key: str) -> str:
    """A row per asset (asset_code, asset_issuer) of the successful payments
    with ``column`` = ``key``, with the sum of their amounts."""
    if column not in FIGURES_OF:
        raise ValueError(f"no payment figures by {column}")
    return RECEIVED_SQL.format(
        column=column, key=key, payment=table(Payment), asset=table(Asset)
    )
