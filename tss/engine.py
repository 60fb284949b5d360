"""The submission engine: lease, build, store, send, confirm, finish.

One ``pump_round`` moves every live submitter transaction one step, in batches:

1. confirm: look up by hash each envelope that has had a ledger to land in.
   Found: the row is final (success, or the failure's reason) and the channel's
   sequence number is the envelope's. Not found: while the envelope can still
   land it is re-sent as it is; once Horizon has ingested past its ledger bound
   (checked before the lookup) it can never land, and only then is it dropped so
   that a new one gets built.
2. lease: rows without an envelope and free channel accounts, together, with
   ``SELECT ... FOR UPDATE SKIP LOCKED``, until ledger ``current + LEASE``;
3. build and sign (channel account as transaction source, distribution account
   as payment source and fee-bump payer), then store hash and envelope with a
   conditional UPDATE (only rows still leased by this round);
4. send with ``POST /transactions_async`` and record what the answer proves
   (from the ``sender`` thread when the Celery task runs the round, so that the
   next round overlaps the sends).

No network I/O happens inside a database transaction; no step sleeps. Rounds
can run in parallel (several workers): every write is conditional on the state
the round read.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from core.bulk import update_from_values
from core.fsm import transition_many
from tss import batching, contract, crashpoints, horizon, keys, metrics, signals
from tss.errors import HorizonError
from tss.models import ChannelAccount, SubmitterTransaction
from tss.results import parse_result_xdr

logger = logging.getLogger(__name__)

Status = SubmitterTransaction.Status
LIVE = (Status.PENDING, Status.PROCESSING)


def _setting(name: str, default):
    return getattr(settings, name, default)


def lease_ledgers() -> int:
    return _setting("TSS_LEASE_LEDGERS", 10)


def batch_size() -> int:
    return _setting("TSS_BATCH_SIZE", 500)


RESEND_AFTER_LEDGERS = 2  # an accepted envelope not seen after this is re-sent
STALE_SEND = timedelta(seconds=5)  # stored but never sent (the sender died): send it
# A contract payment that failed on the ledger because an entry it needs was
# archived after its simulation (op_entry_archived) is built again, restoring
# the entry first, up to this many times (SDP: 3 retries).
ARCHIVED_RETRIES = 3
_pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="tss-http")


@dataclass
class RoundResult:
    confirmed: int = 0
    failed: int = 0
    expired: int = 0
    resent: int = 0
    sent: int = 0
    throttled: bool = False
    built: int = 0  # new envelopes stored
    checked: int = 0  # destinations checked
    live: bool = False  # live work remains
    notes: list[str] = field(default_factory=list)

    @property
    def progressed(self) -> bool:
        """The round moved something (a round right after it may find more)."""
        return bool(
            self.confirmed
            or self.failed
            or self.expired
            or self.resent
            or self.built
            or self.checked
        )


class _Throttle:
    """Additive-increase, multiplicative-decrease share of the ledger's capacity:
    halved on 429, 503 and TRY_AGAIN_LATER, grows back a tenth per clean round."""

    def __init__(self) -> None:
        self.share = 1.0

    def hit(self) -> None:
        self.share = max(0.05, self.share / 2)

    def clean(self) -> None:
        self.share = min(1.0, self.share + 0.1)


throttle = _Throttle()
_capacity: dict[str, float] = {}


def ledger_operations() -> int:
    """The operations one ledger admits (Horizon's ``max_tx_set_size``), read
    once a ledger: a budget on a stale, larger figure overfills the ledgers
    (what does not fit waits in the queue, or is dropped, and surge pricing
    makes every transaction pay the highest bid)."""
    now = timezone.now().timestamp()
    if now - _capacity.get("at", 0) > horizon.ledger_close_seconds():
        try:
            _capacity["ops"] = horizon.max_ops_per_ledger()
            _capacity["at"] = now
        except HorizonError:
            _capacity.setdefault("ops", 100)  # unknown yet: start small
    return max(2, int(_capacity["ops"]))


def payments_for(operations: int) -> int:
    """Payments that fit in ``operations`` ledger operations, in fee-bumped
    transactions of up to ``TSS_MAX_PAYMENTS_PER_TX`` (each spends one more)."""
    per_tx = batching.max_payments_per_tx()
    return max(0, operations) * per_tx // (per_tx + 1)


def ledger_capacity() -> int:
    """Payments one ledger admits."""
    return max(1, payments_for(ledger_operations()))


# --- 1. confirm -------------------------------------------------------------

_FIELDS = (
    "id",
    "tenant_id",
    "external_id",
    "created_at",
    "status",
    "status_message",
    "stellar_transaction_hash",
    "operation_index",
    "envelope_xdr",
    "envelope_max_ledger",
    "envelope_built_ledger",
    "last_sent_ledger",
    "maybe_accepted",
    "channel_account",
    "channel_sequence",
    "distribution_account",
    "destination",
    "attempts_count",
)


class _LedgerScan:
    """The ledgers this process has read in full, ``start`` to ``through``: an
    envelope built after ``start - 1`` and not among them has not landed up to
    ``through``. That only spares hash lookups (and tells when to re-send); an
    envelope is still given up only after a lookup by its hash (``confirm``)."""

    MAX_BEHIND = 20  # further behind than this: start over rather than catch up

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.start: int | None = None
        self.through: int | None = None

    def restart(self, ingested: int) -> None:
        self.start, self.through = ingested + 1, ingested

    def covers(self, row: SubmitterTransaction) -> bool:
        start = self.start
        return (
            start is not None
            and row.envelope_built_ledger is not None
            and row.envelope_built_ledger + 1 >= start
        )


ledger_scan = _LedgerScan()


def scan_ledgers(state: horizon.LedgerState, result: RoundResult) -> None:
    """Read each newly ingested ledger's transactions (a page of 200 per call)
    and finish the rows whose envelopes are there: one call per ledger instead of
    one per envelope. One thread of the process scans; the others skip it."""
    scan = ledger_scan
    if not scan.lock.acquire(blocking=False):
        return
    try:
        behind = state.ingested - (scan.through or 0)
        in_flight = SubmitterTransaction.objects.filter(
            status=Status.PROCESSING, stellar_transaction_hash__isnull=False
        ).exists()
        if scan.through is None or not 0 <= behind <= scan.MAX_BEHIND or not in_flight:
            # A new process, a new network, a long pause, or nothing to find:
            # rows built before now are looked up by hash instead.
            scan.restart(state.ingested)
            return
        for seq in range(scan.through + 1, state.ingested + 1):
            records = horizon.ledger_transactions(seq)
            if records is None:
                break
            _finish_found({record["hash"]: record for record in records}, result)
            scan.through = seq
    except HorizonError:
        pass  # read again next round, from the same ledger
    finally:
        scan.lock.release()


def _in_flight(state: horizon.LedgerState, now: datetime) -> list[SubmitterTransaction]:
    """The envelopes due a look (their rows of operation 0, which hold them)."""
    start = ledger_scan.start
    covered = (
        Q(envelope_built_ledger__gte=start - 1) if start is not None else Q(pk=None)
    )
    due = (
        Q(envelope_max_ledger__lt=state.ingested)
        | Q(last_sent_ledger__isnull=True, updated_at__lt=now - STALE_SEND)
        | Q(last_sent_ledger__lte=state.core - RESEND_AFTER_LEDGERS)
        | (~covered & Q(last_sent_ledger__lt=state.ingested))
    )
    return list(
        SubmitterTransaction.objects.filter(
            due,
            status=Status.PROCESSING,
            stellar_transaction_hash__isnull=False,
            envelope_xdr__isnull=False,
        )
        .only(*_FIELDS)
        .order_by("last_sent_ledger")[: batch_size() * 2]
    )


def confirm(state: horizon.LedgerState, result: RoundResult) -> None:
    scan_ledgers(state, result)
    rows = _in_flight(state, timezone.now())
    if not rows:
        return
    # By hash: rows the ledger scan does not cover, and every row whose bound
    # has passed. ``state`` was read before these lookups: a 404 after Horizon
    # ingested past the bound means the envelope is not on the ledger and never
    # will be.
    wanted = [
        row
        for row in rows
        if state.ingested > row.envelope_max_ledger or not ledger_scan.covers(row)
    ]
    looked_up = dict(
        zip(
            [row.pk for row in wanted],
            _pool.map(_lookup, [row.stellar_transaction_hash for row in wanted]),
            strict=True,
        )
    )
    finished: dict[str, dict] = {}
    expired, resend = [], []
    for row in rows:
        found = looked_up.get(row.pk)
        if isinstance(found, Exception):
            continue
        if found is not None:
            finished[row.stellar_transaction_hash] = found
        elif row.pk in looked_up and state.ingested > row.envelope_max_ledger:
            expired.append(row)
        elif state.core <= row.envelope_max_ledger and (
            row.last_sent_ledger is None
            or state.core >= row.last_sent_ledger + RESEND_AFTER_LEDGERS
        ):
            resend.append(row)
    if finished:
        _finish_found(finished, result)
    if expired:
        _drop_envelopes(_batch_rows(expired), reason="expired")
        result.expired += len(expired)
    if resend:
        metrics.retries.labels(reason="resend").inc(len(resend))
        result.resent += len(resend)
        _send(resend, state, result)


def _safe(call, *args):
    try:
        return call(*args)
    except Exception as exc:  # a failed call is retried next round
        return exc


def _lookup(tx_hash: str):
    return _safe(horizon.transaction, tx_hash)


def _batch_rows(leads: list[SubmitterTransaction]) -> list[SubmitterTransaction]:
    """Every live row of the envelopes ``leads`` hold (the leads included)."""
    return list(
        SubmitterTransaction.objects.filter(
            status=Status.PROCESSING,
            stellar_transaction_hash__in=[
                row.stellar_transaction_hash for row in leads
            ],
        ).only(*_FIELDS)
    )


def _finish_found(records: dict[str, dict], result: RoundResult) -> None:
    """Finish the rows of the envelopes found on the ledger (hash -> Horizon's
    record). A payment succeeded when its operation succeeded in a successful
    transaction; in a failed one, a payment whose own operation failed fails
    with that operation's code, and the others (nothing of the transaction
    applied, and it can never apply again) are rebuilt at once."""
    if not records:
        return
    rows = list(
        SubmitterTransaction.objects.filter(
            status=Status.PROCESSING, stellar_transaction_hash__in=list(records)
        ).only(*_FIELDS)
    )
    if not rows:
        return
    successes, failures, rebuild = [], [], []
    archived: list[SubmitterTransaction] = []
    for row in rows:
        record = records[row.stellar_transaction_hash]
        row.result_xdr = record.get("result_xdr", "")
        row.ledger = record.get("ledger")
        if record.get("successful"):
            successes.append(row)
            continue
        outcome = _operation_outcome(row, row.result_xdr)
        if outcome is None:
            rebuild.append(row)
        elif outcome[0] == "archived":
            # Failed on the ledger, so final there: a new envelope (after the
            # restore its simulation asks for) cannot pay twice.
            if row.attempts_count <= ARCHIVED_RETRIES:
                archived.append(row)
            else:
                failures.append((row, ("final", outcome[1])))
        else:
            failures.append((row, outcome))
    with transaction.atomic():
        # Submitter transactions, then (through the hook) payments, then
        # channel accounts, each in key order, as every writer here: concurrent
        # rounds and the sender thread cannot deadlock.
        done = _finalize(successes, failures)
        _hook(done, synced=True)
        if rebuild or archived:
            _clear_envelopes(rebuild + archived)
        # An included envelope consumed its sequence number, success or not.
        _advance_channels(rows)
    if rebuild:
        metrics.retries.labels(reason="batch_failed").inc(len(rebuild))
    if archived:
        metrics.retries.labels(reason="entry_archived").inc(len(archived))
    result.expired += len(rebuild) + len(archived)
    result.confirmed += len(successes)
    result.failed += len(failures)


def _operation_outcome(
    row: SubmitterTransaction, result_xdr: str
) -> tuple[str, str] | None:
    """(kind, reason) of ``row``'s failure in a failed transaction, or None
    when its own operation succeeded (only another one failed: rebuild it)."""
    try:
        codes = parse_result_xdr(result_xdr)
    except Exception:
        return "final", "the transaction failed on the ledger (unreadable result)"
    own = codes.for_operation(row.operation_index or 0)
    if own is None:
        return None
    if own.archived:
        return "archived", own.reason()
    return own.kind(), own.reason()


def _finalize(successes: list, failures: list) -> list[SubmitterTransaction]:
    """Move rows to SUCCESS / ERROR (only rows still holding the hash that was
    looked up) and release their channel accounts. Returns the rows moved."""
    now = timezone.now()
    done: list[SubmitterTransaction] = []
    # synced_at: the hook runs in this transaction (_finish_found).
    common = {"completed_at": now, "locked_until_ledger_number": None, "synced_at": now}
    # Lock the rows, then keep those still holding the envelope found: a row
    # whose envelope was replaced meanwhile is not this result's.
    rows_by_pk = {row.pk: row for row in successes}
    rows_by_pk.update({row.pk: row for row, _ in failures})
    holding = {
        pk
        for pk, tx_hash in SubmitterTransaction.objects.filter(pk__in=list(rows_by_pk))
        .select_for_update()
        .order_by("pk")
        .values_list("pk", "stellar_transaction_hash")
        if tx_hash == rows_by_pk[pk].stellar_transaction_hash
    }

    def results(rows):
        return {
            row.pk: {"result_xdr": row.result_xdr, "ledger": row.ledger}
            for row in rows
            if row.pk in holding
        }

    if successes:
        moved = set(
            transition_many(
                SubmitterTransaction.objects.filter(pk__in=list(results(successes))),
                from_status=Status.PROCESSING,
                to=Status.SUCCESS,
                note="on the ledger",
                updates=common,
                row_updates=results(successes),
            )
        )
        done += [row for row in successes if row.pk in moved]
        for row in successes:
            if row.pk in moved:
                row.status = Status.SUCCESS
                _observe(row, "success", "")
    by_reason = defaultdict(list)
    for row, (kind, reason) in failures:
        by_reason[(kind, reason)].append(row)
    for (kind, reason), rows in by_reason.items():
        moved = set(
            transition_many(
                SubmitterTransaction.objects.filter(pk__in=list(results(rows))),
                from_status=Status.PROCESSING,
                to=Status.ERROR,
                note=reason,
                updates={**common, "status_message": reason},
                row_updates=results(rows),
            )
        )
        for row in rows:
            if row.pk in moved:
                row.status = Status.ERROR
                row.status_message = reason
                done.append(row)
                _observe(row, "error", kind)
    return done


def _observe(row: SubmitterTransaction, result: str, error_type: str) -> None:
    metrics.submissions.labels(result=result, error_type=error_type).inc()
    metrics.latency.labels(result=result).observe(
        (timezone.now() - row.created_at).total_seconds()
    )


def _hook(done: list[SubmitterTransaction], *, synced: bool = False) -> None:
    """Hand results up (disbursements listens), in the transaction that made
    them final: the payment and the submitter transaction commit together.
    ``synced``: the UPDATE that made them final also set ``synced_at``."""
    if not done:
        return
    signals.transactions_finished.send(
        sender=SubmitterTransaction, submitter_transactions=done
    )
    for row in done:
        signals.transaction_finished.send(
            sender=SubmitterTransaction, submitter_transaction=row
        )
    crashpoints.reached("during_hook")
    if not synced:
        SubmitterTransaction.objects.filter(pk__in=[row.pk for row in done]).update(
            synced_at=timezone.now()
        )


def _advance_channels(rows: list[SubmitterTransaction]) -> None:
    """Each channel's sequence becomes its envelope's (never lower), released."""
    sequences: dict[str, int] = {}
    for row in rows:
        key = row.channel_account
        sequences[key] = max(sequences.get(key, 0), row.channel_sequence or 0)
    if not sequences:
        return
    keys_ = sorted(sequences)
    list(
        ChannelAccount.objects.select_for_update()
        .filter(pk__in=keys_)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {ChannelAccount._meta.db_table} AS c SET sequence = "  # noqa: S608
            "GREATEST(COALESCE(c.sequence, 0), v.s), "
            "locked_until_ledger_number = NULL, locked_at = NULL "
            "FROM unnest(%s::text[], %s::bigint[]) AS v(k, s) WHERE c.public_key = v.k",
            [keys_, [sequences[key] for key in keys_]],
        )


def _clear_envelopes(rows: list[SubmitterTransaction]) -> list[str]:
    """Forget the envelopes of ``rows`` (those still holding the one read) so
    that they get new ones. Returns the channel accounts of the rows changed."""
    hashes = {row.pk: row.stellar_transaction_hash for row in rows}
    with transaction.atomic():
        holding = [
            (pk, channel)
            for pk, tx_hash, channel in SubmitterTransaction.objects.filter(
                pk__in=list(hashes), status=Status.PROCESSING
            )
            .select_for_update()
            .order_by("pk")
            .values_list("pk", "stellar_transaction_hash", "channel_account")
            if tx_hash is not None and tx_hash == hashes[pk]
        ]
        SubmitterTransaction.objects.filter(pk__in=[pk for pk, _ in holding]).update(
            stellar_transaction_hash=None,
            operation_index=None,
            envelope_xdr=None,
            channel_sequence=None,
            envelope_max_ledger=None,
            envelope_built_ledger=None,
            maybe_accepted=False,
            last_sent_ledger=None,
            locked_until_ledger_number=None,
            channel_account="",
            updated_at=timezone.now(),
        )
    return sorted({channel for _, channel in holding if channel})


def _drop_envelopes(rows: list[SubmitterTransaction], *, reason: str) -> None:
    """Forget envelopes that provably never landed (every row of each: see
    ``_batch_rows``); the rows get new ones.

    The channel account is released with its sequence number unchanged."""
    metrics.retries.labels(reason=reason).inc(len(rows))
    with transaction.atomic():
        _release_channels(_clear_envelopes(rows))


# --- 2. lease ---------------------------------------------------------------


def _budget(state: horizon.LedgerState) -> int:
    """How many new payments this ledger still admits: its operations (the
    throttle's share of them) less those of the envelopes waiting to land (a
    payment each, and one per envelope for its fee bump).

    Waiting: every envelope not seen on the ledger yet. Those sent before the
    last ledger that was read and not in it are still in the network's queue
    (they take a place in the next ledger as much as a new one), and those on
    a ledger not read yet are counted until it is (a round or so)."""
    capacity = int(ledger_operations() * throttle.share)
    stored = Q(
        stellar_transaction_hash__isnull=False, envelope_max_ledger__gte=state.core
    )
    # Leased by a round still building them: one envelope per channel.
    building = Q(
        stellar_transaction_hash__isnull=True,
        locked_until_ledger_number__gte=state.core,
    ) & ~Q(channel_account="")
    waiting = SubmitterTransaction.objects.filter(
        stored | building, status=Status.PROCESSING
    ).aggregate(
        payments=Count("pk"),
        envelopes=Count("pk", filter=Q(envelope_xdr__isnull=False)),
        building=Count("channel_account", filter=building, distinct=True),
    )
    operations = waiting["payments"] + waiting["envelopes"] + waiting["building"]
    return payments_for(capacity - operations)


CHECK_AHEAD = 2  # destinations checked ahead of the sends, in ledgers
_checking = threading.Lock()


def _check_ahead() -> int:
    """Keep about ``CHECK_AHEAD`` ledgers of payments with checked destinations
    ahead of the leases. One thread of the process checks; the others skip."""
    if batching.max_payments_per_tx() <= 1 or not _checking.acquire(blocking=False):
        return 0
    try:
        ahead = SubmitterTransaction.objects.filter(
            status=Status.PENDING, destination_ok__isnull=False
        ).count()
        return check_destinations(
            min(
                max(batch_size(), ledger_capacity()),
                CHECK_AHEAD * ledger_capacity() - ahead,
            )
        )
    finally:
        _checking.release()


def check_destinations(limit: int) -> int:
    """Check the destinations of up to ``limit`` payments not yet checked, the
    oldest first (batching only). Returns how many were checked."""
    if limit <= 0 or batching.max_payments_per_tx() <= 1:
        return 0
    rows = list(
        SubmitterTransaction.objects.filter(
            status__in=LIVE,
            destination_ok__isnull=True,
            stellar_transaction_hash__isnull=True,
        )
        .only("id", "destination", "asset_code", "asset_issuer", "amount")
        .order_by("created_at")[:limit]
    )
    if not rows:
        return 0
    checked = batching.check_destinations(rows, _pool)
    for value in (True, False):
        pks = [pk for pk, ok in checked.items() if ok is value]
        if pks:
            SubmitterTransaction.objects.filter(
                pk__in=pks, destination_ok__isnull=True
            ).update(destination_ok=value)
    return len(checked)


Pair = tuple[list[SubmitterTransaction], ChannelAccount]
LEASE_LOCK = 0x7551_1EA5E  # pg_advisory_xact_lock key of the lease step


def lease(state: horizon.LedgerState, limit: int) -> list[Pair]:
    """Lease up to ``limit`` rows without an envelope (and no more than the
    ledger admits: ``_budget``), grouped in transactions (``batching.group``),
    each transaction with a free channel account, until ledger
    ``state.core + LEASE``. Returns (rows, channel) pairs.

    With batching on, a row waits for its destination check
    (``check_destinations``) before it is leased. Leases are taken one at a
    time (an advisory lock): rounds in parallel would each see the ledger's
    room and fill it twice over."""
    if limit <= 0:
        return []
    now = timezone.now()
    until = state.core + lease_ledgers()
    per_tx = batching.max_payments_per_tx()
    expired_or_free = Q(locked_until_ledger_number__isnull=True) | Q(
        locked_until_ledger_number__lt=state.core
    )
    checked = Q(destination_ok__isnull=False) if per_tx > 1 else Q()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LEASE_LOCK])
        limit = min(limit, _budget(state))
        if limit <= 0:
            return []
        rows = list(
            SubmitterTransaction.objects.select_for_update(skip_locked=True)
            .filter(
                expired_or_free,
                checked,
                Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
                status__in=LIVE,
                stellar_transaction_hash__isnull=True,
            )
            .filter(contract.lane_open(until))
            .order_by("created_at")[:limit]
        )
        if not rows:
            return []
        # A channel whose last envelope is still unresolved stays out: its
        # sequence number is not known yet.
        holding = SubmitterTransaction.objects.filter(
            channel_account=OuterRef("public_key"),
            status=Status.PROCESSING,
            stellar_transaction_hash__isnull=False,
        )
        groups = batching.group(rows, per_tx)
        channels = list(
            ChannelAccount.objects.select_for_update(skip_locked=True)
            .filter(expired_or_free)
            .filter(~Exists(holding))
            .order_by("locked_at", "public_key")[: len(groups)]
        )
        pairs = list(zip(groups, channels, strict=False))
        rows = [row for group, _ in pairs for row in group]
        if not rows:
            return []
        # One UPDATE per kind of row: the PENDING ones move (with their history
        # rows) and get their channel in the same statement.
        lock = {"locked_at": now, "locked_until_ledger_number": until}
        assigned = {
            row.pk: {"channel_account": channel.public_key}
            for group, channel in pairs
            for row in group
        }
        pending = {
            row.pk: assigned[row.pk] for row in rows if row.status == Status.PENDING
        }
        if pending:
            transition_many(
                SubmitterTransaction.objects.filter(pk__in=list(pending)),
                from_status=Status.PENDING,
                to=Status.PROCESSING,
                note="leased",
                updates={"started_at": now, **lock},
                row_updates=pending,
            )
        again = {pk: value for pk, value in assigned.items() if pk not in pending}
        if again:
            update_from_values(SubmitterTransaction, again, also=lock)
        for group, channel in pairs:
            for row in group:
                row.status = Status.PROCESSING
                row.channel_account = channel.public_key
                row.locked_at = now
                row.locked_until_ledger_number = until
            channel.locked_at = now
            channel.locked_until_ledger_number = until
        ChannelAccount.objects.filter(
            pk__in=[channel.pk for _, channel in pairs]
        ).update(locked_at=now, locked_until_ledger_number=until)
    crashpoints.reached("after_lease")
    return pairs


# --- 3. build, store ----------------------------------------------------------


def build(
    rows: list[SubmitterTransaction], channel: ChannelAccount, sequence: int
) -> tuple[str, str, str]:
    """The fee-bumped, signed envelope paying ``rows`` (one operation each, in
    that order) from channel ``channel`` with sequence number ``sequence`` (the
    channel's next), valid until the rows' lease ends: (hash hex, base64 XDR,
    paying account)."""
    signers = batching.Signers(
        channel=keys.channel_keypair(channel.public_key, channel.encrypted_secret),
        distribution=keys.distribution_keypair(rows[0].tenant_id),
    )
    max_ledger = rows[0].locked_until_ledger_number
    tx_hash, envelope_xdr = batching.build(rows, signers, sequence, max_ledger)
    return tx_hash, envelope_xdr, signers.distribution.public_key


def _load_missing_sequences(pairs: list[Pair]) -> None:
    missing = [channel for _, channel in pairs if channel.sequence is None]
    if not missing:
        return
    records = list(_pool.map(lambda c: _safe(horizon.account, c.public_key), missing))
    for channel, record in zip(missing, records, strict=True):
        if record is not None and not isinstance(record, Exception):
            channel.sequence = int(record["sequence"])
            ChannelAccount.objects.filter(pk=channel.pk, sequence__isnull=True).update(
                sequence=channel.sequence
            )


_BUILD_ERRORS = (ValueError, TypeError, ArithmeticError)


def _build_group(
    group: list[SubmitterTransaction],
    channel: ChannelAccount,
    state: horizon.LedgerState,
    invalid: list[tuple[SubmitterTransaction, str]],
    retry: list[tuple[SubmitterTransaction, str]],
) -> list[SubmitterTransaction]:
    """Build one transaction of ``group`` (its invalid payments left out, in
    ``invalid``; a contract payment that must wait for a later round, in
    ``retry``); returns the rows it pays, their fields set."""
    rows = []
    for row in group:
        try:
            batching.validate(row)
        except _BUILD_ERRORS as exc:
            invalid.append((row, f"the payment cannot be built: {exc}"))
        else:
            rows.append(row)
    if not rows:
        return []
    sequence = (channel.sequence or 0) + 1  # build_and_store checked it is known
    try:
        tx_hash, envelope_xdr, paying = build(rows, channel, sequence)
    except contract.Retry as exc:
        retry += [(row, str(exc)) for row in rows]
        return []
    except _BUILD_ERRORS as exc:
        invalid += [(row, f"the payment cannot be built: {exc}") for row in rows]
        return []
    for index, row in enumerate(rows):
        row.stellar_transaction_hash = tx_hash
        row.operation_index = index
        # The envelope is stored once, with operation 0.
        row.envelope_xdr = envelope_xdr if index == 0 else None
        row.channel_sequence = sequence
        row.envelope_max_ledger = row.locked_until_ledger_number
        row.envelope_built_ledger = state.core
        row.distribution_account = paying
    return rows


def build_and_store(
    pairs: list[Pair], result: RoundResult, state: horizon.LedgerState
) -> list[SubmitterTransaction]:
    """Build each transaction, then store hashes and envelopes in one statement
    that only touches rows still leased by this round. Returns the rows stored."""
    _load_missing_sequences(pairs)
    keys.clear_round_cache()
    built: list[SubmitterTransaction] = []
    invalid: list[tuple[SubmitterTransaction, str]] = []
    retry: list[tuple[SubmitterTransaction, str]] = []
    unused: list[str] = []
    for group, channel in pairs:
        if channel.sequence is None:
            _release(group, note="channel account not found")
            continue
        rows = _build_group(group, channel, state, invalid, retry)
        built += rows
        if not rows:
            unused.append(channel.public_key)
    crashpoints.reached("after_sign")
    if retry:
        _release([row for row, _ in retry], note=retry[0][1])
    if invalid:
        with transaction.atomic():
            _fail_unsent(invalid)
            _release_channels(unused)
    if not built:
        return []
    table = SubmitterTransaction._meta.db_table
    columns = [
        [row.pk for row in built],
        [row.stellar_transaction_hash for row in built],
        [row.operation_index for row in built],
        [row.envelope_xdr for row in built],
        [row.channel_sequence for row in built],
        [row.envelope_max_ledger for row in built],
        [row.envelope_built_ledger for row in built],
        [row.distribution_account for row in built],
        [row.locked_at for row in built],
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS t SET stellar_transaction_hash = v.h, "  # noqa: S608
            "operation_index = v.o, "
            "envelope_xdr = v.x, channel_sequence = v.s, envelope_max_ledger = v.m, "
            "envelope_built_ledger = v.b, "
            "distribution_account = v.d, attempts_count = t.attempts_count + 1, "
            "maybe_accepted = false, last_sent_ledger = NULL, sent_at = NULL, "
            "updated_at = now() "
            "FROM unnest(%s::uuid[], %s::text[], %s::smallint[], %s::text[], "
            "%s::bigint[], %s::bigint[], %s::bigint[], %s::text[], "
            "%s::timestamptz[]) "
            "AS v(id, h, o, x, s, m, b, d, l) "
            "WHERE t.id = v.id AND t.locked_at = v.l "
            "AND t.stellar_transaction_hash IS NULL AND t.status = 'PROCESSING' "
            "RETURNING t.id, t.stellar_transaction_hash",
            columns,
        )
        returned = cursor.fetchall()
        stored = {pk for pk, _ in returned}
        # A transaction is stored whole or not at all (a row whose lease was
        # lost meanwhile): nothing was sent yet, so the rest are forgotten.
        expected = Counter(row.stellar_transaction_hash for row in built)
        got = Counter(tx_hash for _, tx_hash in returned)
        partial = [tx_hash for tx_hash, n in got.items() if n != expected[tx_hash]]
        if partial:
            SubmitterTransaction.objects.filter(
                stellar_transaction_hash__in=partial
            ).update(
                stellar_transaction_hash=None,
                operation_index=None,
                envelope_xdr=None,
                channel_sequence=None,
                envelope_max_ledger=None,
                envelope_built_ledger=None,
            )
            stored = {pk for pk, tx_hash in returned if tx_hash not in partial}
    crashpoints.reached("after_store")
    return [row for row in built if row.pk in stored]


def _release(rows: list[SubmitterTransaction], *, note: str) -> None:
    logger.warning("releasing %d leases: %s", len(rows), note)
    with transaction.atomic():
        SubmitterTransaction.objects.filter(
            pk__in=[row.pk for row in rows], stellar_transaction_hash__isnull=True
        ).update(locked_until_ledger_number=None, channel_account="")
        _release_channels([row.channel_account for row in rows])


def _release_channels(public_keys: list[str]) -> None:
    if not public_keys:
        return
    with transaction.atomic():
        list(
            ChannelAccount.objects.select_for_update()
            .filter(pk__in=public_keys)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        ChannelAccount.objects.filter(pk__in=public_keys).update(
            locked_until_ledger_number=None, locked_at=None
        )


def _fail_unsent(failures: list[tuple]) -> None:
    """Rows refused before the network accepted anything: final now."""
    by_reason = defaultdict(list)
    for row, reason in failures:
        by_reason[reason].append(row)
    done = []
    for reason, rows in by_reason.items():
        moved = set(
            transition_many(
                SubmitterTransaction.objects.filter(pk__in=[row.pk for row in rows]),
                from_status=Status.PROCESSING,
                to=Status.ERROR,
                note=reason,
                updates={
                    "status_message": reason,
                    "completed_at": timezone.now(),
                    "locked_until_ledger_number": None,
                    "stellar_transaction_hash": None,
                    "operation_index": None,
                    "envelope_xdr": None,
                },
            )
        )
        for row in rows:
            if row.pk in moved:
                row.status = Status.ERROR
                row.status_message = reason
                row.stellar_transaction_hash = None
                done.append(row)
                _observe(row, "error", "final")
    _hook(done)


# --- 4. send ------------------------------------------------------------------


def _send(
    rows: list[SubmitterTransaction], state: horizon.LedgerState, result: RoundResult
) -> None:
    # The rows holding envelopes (operation 0 of each transaction).
    sendable = [
        row
        for row in rows
        if row.envelope_xdr and state.core <= row.envelope_max_ledger
    ]
    if not sendable:
        return
    crashpoints.reached("during_send")
    answers = list(_pool.map(contract.submit_async, sendable))
    crashpoints.reached("after_accept")
    accepted, unclear, later, refused, bad_seq = [], [], [], [], []
    for row, answer in zip(sendable, answers, strict=True):
        code = _tx_code(answer) if answer.status == "ERROR" else ""
        if code == "tx_bad_seq" and not row.maybe_accepted:
            bad_seq.append(row.channel_account)
        if answer.status in ("PENDING", "DUPLICATE"):
            accepted.append(row)
        elif answer.status == "TRY_AGAIN_LATER":
            later.append(row)
        elif (
            answer.status == "ERROR"
            and not row.maybe_accepted
            and code not in LANDED_RESUBMISSION_CODES
        ):
            refused.append((row, answer))
        else:
            # UNKNOWN, or an ERROR that a re-send of an envelope already on the
            # ledger would also get (a send whose answer was lost, or a crash
            # before it was recorded, may have put it there): only the ledger
            # decides, by hash, once the bound has passed.
            unclear.append(row)
            if answer.http_status in (429, 503):
                later.append(row)
    if bad_seq:
        metrics.bad_seq.inc(len(bad_seq))
        _reload_sequences(bad_seq)
    if later:
        result.throttled = True
        throttle.hit()
    now = timezone.now()

    def mark(rows_: list, **updates) -> None:
        # Every row of each envelope sent.
        if rows_:
            SubmitterTransaction.objects.filter(
                status=Status.PROCESSING,
                stellar_transaction_hash__in=[
                    r.stellar_transaction_hash for r in rows_
                ],
            ).update(last_sent_ledger=state.core, **updates)

    with transaction.atomic():
        # Lock in key order first (see _finish_found), then write.
        list(
            SubmitterTransaction.objects.select_for_update()
            .filter(
                status=Status.PROCESSING,
                stellar_transaction_hash__in=[
                    row.stellar_transaction_hash for row in sendable
                ],
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        mark(accepted, maybe_accepted=True, sent_at=now)
        mark([r for r in unclear if r not in later], maybe_accepted=True, sent_at=now)
        mark([r for r in later if r not in unclear])
        mark([r for r in later if r in unclear], maybe_accepted=True, sent_at=now)
    result.sent += len(accepted)
    if refused:
        _handle_refused(refused, result)


# What a re-submission of an envelope that is already on the ledger can be
# answered (stellar-core checks the bounds, the fee and the sequence number
# before signatures and balances): such an answer proves nothing.
LANDED_RESUBMISSION_CODES = {"tx_bad_seq", "tx_too_late", "tx_insufficient_fee"}


def _tx_code(answer: horizon.AsyncResult) -> str:
    try:
        return parse_result_xdr(answer.error_result_xdr).transaction or ""
    except Exception:
        return ""


def _reload_sequences(public_keys: list[str]) -> None:
    records = list(_pool.map(lambda key: _safe(horizon.account, key), public_keys))
    for key, record in zip(public_keys, records, strict=True):
        # Unknown (Horizon failed): None makes the next lease load it.
        ok = isinstance(record, dict)
        ChannelAccount.objects.filter(pk=key).update(
            sequence=int(record["sequence"]) if ok else None
        )


def _handle_refused(refused: list[tuple], result: RoundResult) -> None:
    """The network refused envelopes it had never accepted, for a reason a
    landed envelope would not get: none can land. A payment whose own
    operation was refused fails; the others of its transaction are rebuilt."""
    answers = {row.stellar_transaction_hash: answer for row, answer in refused}
    rebuild, final = [], []
    for row in _batch_rows([row for row, _ in refused]):
        answer = answers[row.stellar_transaction_hash]
        try:
            codes = parse_result_xdr(answer.error_result_xdr)
            own = codes.for_operation(row.operation_index or 0)
            kind, reason = (
                ("transient", "") if own is None else (own.kind(), own.reason())
            )
        except Exception:
            kind, reason = "transient", "unreadable refusal"
        if kind == "transient":
            rebuild.append(row)
        else:
            final.append((row, reason))
    if rebuild:
        SubmitterTransaction.objects.filter(pk__in=[r.pk for r in rebuild]).update(
            next_attempt_at=timezone.now() + timedelta(seconds=1)
        )
        _drop_envelopes(rebuild, reason="refused")
    if final:
        with transaction.atomic():
            _fail_unsent(final)
            _release_channels([row.channel_account for row, _ in final])
        result.failed += len(final)


# --- a round --------------------------------------------------------------------


class _Sender:
    """Sends a round's stored envelopes on a thread of its own, so that the
    next round (reading ledgers, finishing rows, leasing, building) overlaps
    with the HTTP round trips. At most one batch waits behind the one being
    sent; past that a round sends its own batch (back-pressure).

    Nothing depends on the send having happened: the envelope and its hash are
    stored first, the channel stays held until the row is resolved, the budget
    counts stored-but-unsent rows, and an envelope left unsent (the process
    died) is sent by a later round after ``STALE_SEND``."""

    MAX_WAITING = 1

    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tss-send")
        self.lock = threading.Lock()
        self.queued = 0

    def submit(self, rows: list[SubmitterTransaction], state) -> bool:
        with self.lock:
            if self.queued > self.MAX_WAITING:
                return False
            self.queued += 1
        self.executor.submit(self._run, rows, state)
        return True

    def _run(self, rows: list[SubmitterTransaction], state) -> None:
        close_old_connections()
        try:
            # A fresher reading if Horizon answers; else the round's, a ledger
            # or so old, still right (only a bound that has passed stops a send).
            with suppress(HorizonError):
                state = horizon.ledger_state()
            _send(rows, state, RoundResult())
        except Exception:
            logger.exception(
                "sending %d envelopes failed; a later round re-sends", len(rows)
            )
        finally:
            with self.lock:
                self.queued -= 1
            close_old_connections()

    def drain(self) -> None:
        """Wait until every batch handed over has been sent (tests, shutdown)."""
        self.executor.submit(lambda: None).result()


sender = _Sender()


def pump_round(*, send_in_background: bool = False) -> RoundResult:
    """Move every live submitter transaction one step; safe to run in parallel.

    ``send_in_background``: hand the new envelopes to ``sender`` instead of
    sending them before returning (the Celery task's way)."""
    result = RoundResult()
    try:
        state = horizon.ledger_state()
    except HorizonError:
        throttle.hit()
        result.throttled = True
        result.live = SubmitterTransaction.objects.filter(status__in=LIVE).exists()
        return result
    confirm(state, result)
    result.checked = _check_ahead()
    # A round may fill a whole ledger: with batches its cost is per envelope.
    pairs = lease(state, max(batch_size(), ledger_capacity()))
    if pairs:
        stored = build_and_store(pairs, result, state)
        result.built = len(stored)
        if not (send_in_background and stored and sender.submit(stored, state)):
            _send(stored, state, result)
    if not result.throttled:
        throttle.clean()
    result.live = SubmitterTransaction.objects.filter(status__in=LIVE).exists()
    return result
