"""The network: queue of pending transactions, ledger closing, history, faults."""

from __future__ import annotations

import bisect
import hashlib
import logging
import random
import threading
import time
from collections import deque

from stellar_sdk import Account as SdkAccount
from stellar_sdk import Keypair, TransactionBuilder

from localnet import codes as C
from localnet import sac
from localnet.envelope import Envelope, parse_envelope
from localnet.ledger import (
    BASE_RESERVE,
    PROTOCOL_VERSION,
    STROOPS_PER_XLM,
    Account,
    Ledger,
    TxResult,
)
from localnet.results import result_xdr

log = logging.getLogger("localnet")

PENDING = "PENDING"
DUPLICATE = "DUPLICATE"
ERROR = "ERROR"
TRY_AGAIN_LATER = "TRY_AGAIN_LATER"

QUEUE_LEDGERS = 3  # a transaction not included after this many ledgers is dropped
BAN_LEDGERS = 10  # and may not be resubmitted for this many ledgers
FRIENDBOT_STARTING_BALANCE = 10_000 * STROOPS_PER_XLM
FRIENDBOT_FUNDS = 10_000_000_000 * STROOPS_PER_XLM

FAULT_DEFAULTS = {
    "timeout_after_accept": 0.0,  # 504 although the transaction was queued
    "timeout_drop": 0.0,  # 504 and the transaction is dropped
    "rate_limit": 0.0,  # 429 on any Horizon request
    "unavailable": 0.0,  # 503 on any Horizon request
    "ingestion_lag": 0,  # history lags the ledger by this many ledgers
}
PROBABILITY_FAULTS = (
    "timeout_after_accept",
    "timeout_drop",
    "rate_limit",
    "unavailable",
)


class TxRecord:
    """A transaction included in a ledger."""

    __slots__ = ("closed_at", "env", "index", "ledger", "result", "result_xdr", "toid")

    def __init__(
        self, env: Envelope, result: TxResult, ledger: int, index: int, closed_at: int
    ):
        self.env = env
        self.result = result
        self.result_xdr = result_xdr(result)
        self.ledger = ledger
        self.index = index
        self.closed_at = closed_at
        self.toid = (ledger << 32) | (index << 12)


class LedgerRecord:
    __slots__ = (
        "base_fee",
        "base_reserve",
        "closed_at",
        "failed",
        "fee_pool",
        "fee_rates",
        "hash",
        "max_fee_rates",
        "max_tx_set_size",
        "operations",
        "prev_hash",
        "protocol_version",
        "seq",
        "soroban_usage",
        "successful",
        "total_coins",
        "tx_set_operations",
    )

    def to_json(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_json(cls, data: dict) -> LedgerRecord:
        record = cls()
        for name in cls.__slots__:
            setattr(
                record, name, data.get(name, {} if name == "soroban_usage" else None)
            )
        return record


class Pending:
    """A queued transaction and the submitters waiting for it."""

    __slots__ = ("age", "env", "event", "outcome", "record")

    def __init__(self, env: Envelope):
        self.env = env
        self.age = 0
        self.event = threading.Event()
        self.outcome: str | None = None  # "applied", "dropped", "replaced"
        self.record: TxRecord | None = None

    def finish(self, outcome: str, record: TxRecord | None = None) -> None:
        self.outcome = outcome
        self.record = record
        self.event.set()


class SubmitOutcome:
    __slots__ = ("env", "pending", "result", "status")

    def __init__(self, status, env, pending=None, result=None):
        self.status = status
        self.env = env
        self.pending = pending
        self.result = result


class FriendbotRequest:
    __slots__ = ("address", "error", "event", "record")

    def __init__(self, address: str):
        self.address = address
        self.event = threading.Event()
        self.record: TxRecord | None = None
        self.error: str | None = None


class Node:
    """One standalone network: ledger state, queue, history and faults."""

    def __init__(
        self,
        passphrase: str,
        ledger_close: float = 5.0,
        max_ops_per_ledger: int = 1000,
        faults: dict | None = None,
        seed: int | None = None,
    ):
        self.lock = threading.RLock()
        self.passphrase = passphrase
        self.ledger_close = ledger_close
        self.max_ops_per_ledger = max_ops_per_ledger
        self.soroban_limits = dict(sac.LEDGER_LIMITS)
        self.faults = dict(FAULT_DEFAULTS)
        self.random = random.Random(seed)
        self.on_close = None  # called (under the lock) after each ledger close
        self.closed_event = threading.Condition(self.lock)
        self.stats = {
            "accepted": 0,
            "applied": 0,
            "ledgers_closed": 0,
            "apply_seconds": 0.0,
            "dropped": 0,
            "rejected": 0,
        }
        if faults:
            self.set_faults(faults)
        self._genesis()

    # ---- state -----------------------------------------------------------------

    def _genesis(self) -> None:
        self.ledger = Ledger(self.passphrase)
        self.friendbot_keypair = Keypair.from_raw_ed25519_seed(
            hashlib.sha256(self.ledger.network_id + b"friendbot").digest()
        )
        root = self.ledger.accounts[self.ledger.root_keypair.public_key]
        friendbot = Account(
            self.friendbot_keypair.public_key, FRIENDBOT_FUNDS, 1 << 32, 1
        )
        root.balance -= FRIENDBOT_FUNDS
        self.ledger.accounts[friendbot.account_id] = friendbot
        self.queue: dict[str, Pending] = {}
        self.queue_by_hash: dict[str, Pending] = {}
        self.queued_fees: dict[str, int] = {}
        self.banned: dict[str, int] = {}
        self.friendbot_requests: list[FriendbotRequest] = []
        self.history: list[TxRecord] = []
        self.by_hash: dict[str, TxRecord] = {}
        self.by_account: dict[str, list[TxRecord]] = {}
        self.payments_by_account: dict[str, list[tuple[int, TxRecord, int]]] = {}
        # Every operation an account takes part in (GET /accounts/{id}/operations).
        self.operations_by_account: dict[str, list[tuple[int, TxRecord, int]]] = {}
        self.ledgers: deque[LedgerRecord] = deque(maxlen=10_000)
        self.arrivals = 0
        genesis = LedgerRecord()
        genesis.seq = 1
        genesis.hash = hashlib.sha256(self.ledger.network_id + b"genesis").hexdigest()
        genesis.prev_hash = "0" * 64
        genesis.closed_at = int(time.time())
        genesis.successful = genesis.failed = genesis.operations = 0
        genesis.tx_set_operations = 0
        genesis.base_fee = self.ledger.base_fee
        genesis.base_reserve = BASE_RESERVE
        genesis.max_tx_set_size = self.max_ops_per_ledger
        genesis.total_coins = self.ledger.total_coins
        genesis.fee_pool = 0
        genesis.protocol_version = PROTOCOL_VERSION
        genesis.fee_rates = []
        genesis.max_fee_rates = []
        genesis.soroban_usage = {}
        self.ledgers.append(genesis)

    @property
    def latest(self) -> LedgerRecord:
        return self.ledgers[-1]

    @property
    def core_latest_ledger(self) -> int:
        return self.latest.seq

    @property
    def history_latest_ledger(self) -> int:
        return max(1, self.latest.seq - int(self.faults["ingestion_lag"]))

    def reset(self) -> None:
        """A network reset, as testnet has: everything is wiped."""
        with self.lock:
            for pending in list(self.queue.values()):
                pending.finish("dropped")
            for request in self.friendbot_requests:
                request.error = "network reset"
                request.event.set()
            self._genesis()
            log.warning("network reset: all accounts and history wiped")
            self.closed_event.notify_all()

    # ---- faults and configuration -------------------------------------------------

    def set_faults(self, values: dict) -> dict:
        with self.lock:
            unknown = set(values) - set(FAULT_DEFAULTS) - {"reset", "seed"}
            if unknown:
                raise ValueError(f"unknown faults: {', '.join(sorted(unknown))}")
            for name in PROBABILITY_FAULTS:
                if name in values:
                    value = float(values[name])
                    if not 0.0 <= value <= 1.0:
                        raise ValueError(f"{name} must be a probability in [0, 1]")
                    self.faults[name] = value
            if "ingestion_lag" in values:
                lag = int(values["ingestion_lag"])
                if lag < 0:
                    raise ValueError("ingestion_lag must be >= 0")
                self.faults["ingestion_lag"] = lag
            if values.get("seed") is not None:
                self.random.seed(int(values["seed"]))
            if values.get("reset"):
                self.reset()
            return dict(self.faults)

    def roll(self, fault: str) -> bool:
        probability = self.faults[fault]
        return probability > 0 and self.random.random() < probability

    def configure(
        self, ledger_close: float | None = None, max_ops_per_ledger: int | None = None
    ) -> dict:
        with self.lock:
            if ledger_close is not None:
                if ledger_close < 0:
                    raise ValueError("ledger_close must be >= 0")
                self.ledger_close = float(ledger_close)
            if max_ops_per_ledger is not None:
                if max_ops_per_ledger < 1:
                    raise ValueError("max_ops_per_ledger must be >= 1")
                self.max_ops_per_ledger = int(max_ops_per_ledger)
            self.closed_event.notify_all()
            return self.config()

    def config(self) -> dict:
        return {
            "ledger_close": self.ledger_close,
            "max_ops_per_ledger": self.max_ops_per_ledger,
            "persistent_ttl": self.ledger.persistent_ttl,
            "soroban_limits": dict(self.soroban_limits),
        }

    def configure_soroban(
        self, persistent_ttl: int | None = None, limits: dict | None = None
    ) -> dict:
        with self.lock:
            if persistent_ttl is not None:
                if persistent_ttl < 1:
                    raise ValueError("persistent_ttl must be >= 1")
                self.ledger.persistent_ttl = int(persistent_ttl)
            for name, value in (limits or {}).items():
                if name not in self.soroban_limits or int(value) < 1:
                    raise ValueError(f"bad Soroban limit {name}={value}")
                self.soroban_limits[name] = int(value)
            return self.config()

    def archive(self, contract: str | None = None) -> int:
        """Let contract data entries pass their TTL now (of one contract, or
        all): what months without a TTL extension do on the real network."""
        with self.lock:
            count = 0
            for entry in self.ledger.contract_data.values():
                if contract is not None:
                    owner = entry.key().contract_data.contract
                    from stellar_sdk import Address

                    if Address.from_xdr_sc_address(owner).address != contract:
                        continue
                if entry.live_until >= self.latest.seq:
                    entry.live_until = self.latest.seq - 1
                    count += 1
            return count

    # ---- submission ----------------------------------------------------------------

    def parse(self, envelope_b64: str) -> Envelope:
        return parse_envelope(envelope_b64, self.ledger.network_id)

    def submit(self, env: Envelope) -> SubmitOutcome:
        """Offer an envelope to the queue, as stellar-core's tryAdd does."""
        with self.lock:
            existing = self.queue_by_hash.get(env.hash_hex)
            if existing is not None:
                return SubmitOutcome(DUPLICATE, env, existing)
            next_seq = self.latest.seq + 1
            if self.banned.get(env.hash_hex, 0) >= next_seq:
                return SubmitOutcome(TRY_AGAIN_LATER, env)
            replaced = None
            same_source = self.queue.get(env.seq_source)
            if same_source is not None:
                old = same_source.env
                if env.is_fee_bump and old.inner.hash == env.inner.hash:
                    # replace-by-fee needs a bid at least 10x the queued one
                    if env.fee_bid * old.op_count < 10 * old.fee_bid * env.op_count:
                        minimum = -(-10 * old.fee_bid * env.op_count // old.op_count)
                        self.stats["rejected"] += 1
                        return SubmitOutcome(
                            ERROR,
                            env,
                            result=TxResult(C.TX_INSUFFICIENT_FEE, minimum),
                        )
                    replaced = same_source
                else:
                    return SubmitOutcome(TRY_AGAIN_LATER, env)
            close_time = max(int(time.time()), self.latest.closed_at)
            queued = self.queued_fees.get(env.fee_payer, 0)
            if replaced is not None and replaced.env.fee_payer == env.fee_payer:
                queued -= replaced.env.fee_bid
            result = self.ledger.check_valid(env, next_seq, close_time, queued)
            if not result.successful:
                self.stats["rejected"] += 1
                return SubmitOutcome(ERROR, env, result=result)
            if replaced is not None:
                self._unqueue(replaced)
                replaced.finish("replaced")
            pending = Pending(env)
            self.arrivals += 1
            env.arrival = self.arrivals
            self.queue[env.seq_source] = pending
            self.queue_by_hash[env.hash_hex] = pending
            self.queued_fees[env.fee_payer] = (
                self.queued_fees.get(env.fee_payer, 0) + env.fee_bid
            )
            self.stats["accepted"] += 1
            return SubmitOutcome(PENDING, env, pending)

    def _unqueue(self, pending: Pending) -> None:
        env = pending.env
        if self.queue.get(env.seq_source) is pending:
            del self.queue[env.seq_source]
        self.queue_by_hash.pop(env.hash_hex, None)
        left = self.queued_fees.get(env.fee_payer, 0) - env.fee_bid
        if left > 0:
            self.queued_fees[env.fee_payer] = left
        else:
            self.queued_fees.pop(env.fee_payer, None)

    def drop(self, pending: Pending) -> None:
        """Forget a queued transaction (a fault: Horizon lost it)."""
        with self.lock:
            if self.queue_by_hash.get(pending.env.hash_hex) is pending:
                self._unqueue(pending)
                pending.finish("dropped")

    def friendbot(self, address: str) -> FriendbotRequest:
        request = FriendbotRequest(address)
        with self.lock:
            self.friendbot_requests.append(request)
        return request

    # ---- ledger close ----------------------------------------------------------------

    def close_ledger(self) -> LedgerRecord:
        with self.lock:
            started = time.perf_counter()
            ledger = self.ledger
            seq = self.latest.seq + 1
            # Close times follow the wall clock in whole seconds; with sub-second
            # ledgers two ledgers may share one (stellar-core would need them to
            # increase, but a clock running ahead of real time breaks time bounds).
            close_time = max(int(time.time()), self.latest.closed_at)
            ledger.ledger_seq = seq
            applied: list[tuple[Pending | None, Envelope, TxResult]] = []
            self._apply_friendbot(seq, close_time, applied)

            candidates = []
            for pending in list(self.queue.values()):
                verdict = self._still_valid(pending.env, seq, close_time)
                if verdict == "drop":
                    self._unqueue(pending)
                    pending.finish("dropped")
                    self.stats["dropped"] += 1
                elif verdict == "ok":
                    candidates.append(pending)
            candidates.sort(
                key=lambda p: (
                    -(p.env.inclusion_bid * 1_000_000 // p.env.op_count),
                    p.env.arrival,
                )
            )
            selected = []
            ops = 0
            surge = False
            # Soroban transactions have their own lane, bounded by the
            # ledger's resource limits rather than by operations
            usage = dict.fromkeys(sac.LEDGER_LIMITS, 0)
            for pending in candidates:
                if pending.env.is_soroban:
                    wanted = self._soroban_usage(pending.env)
                    if all(
                        usage[k] + wanted[k] <= self.soroban_limits[k] for k in usage
                    ):
                        selected.append(pending)
                        for k in usage:
                            usage[k] += wanted[k]
                    continue
                if ops + pending.env.op_count <= self.max_ops_per_ledger:
                    selected.append(pending)
                    ops += pending.env.op_count
                else:
                    surge = True
            base_rate = ledger.base_fee
            classic = [p for p in selected if not p.env.is_soroban]
            if surge and classic:
                # surge pricing: everyone pays the lowest included bid per op
                base_rate = max(
                    ledger.base_fee,
                    min(p.env.inclusion_bid // p.env.op_count for p in classic),
                )
            fees = [
                ledger.charge_fee(p.env, ledger.fee_to_charge(p.env, base_rate))
                for p in selected
            ]
            for pending, fee in zip(selected, fees, strict=False):
                self._unqueue(pending)
                result = ledger.apply(pending.env, seq, close_time, fee)
                applied.append((pending, pending.env, result))

            for pending in list(self.queue.values()):
                pending.age += 1
                if pending.age >= QUEUE_LEDGERS:
                    self._unqueue(pending)
                    self.banned[pending.env.hash_hex] = seq + BAN_LEDGERS
                    pending.finish("dropped")
                    self.stats["dropped"] += 1
            if self.banned:
                self.banned = {
                    h: until for h, until in self.banned.items() if until > seq
                }

            record = self._record_ledger(seq, close_time, applied, ops, base_rate)
            record.soroban_usage = usage
            self.stats["ledgers_closed"] += 1
            self.stats["applied"] += len(applied)
            self.stats["apply_seconds"] += time.perf_counter() - started
            if self.on_close is not None:
                self.on_close(self)
            self.closed_event.notify_all()
            return record

    @staticmethod
    def _soroban_usage(env: Envelope) -> dict:
        if env.inner.soroban is None:
            return {"tx_count": 1} | dict.fromkeys(list(sac.LEDGER_LIMITS)[1:], 0)
        declared = sac.declared_resources(env.inner.soroban)
        return {
            "tx_count": 1,
            "instructions": declared.instructions,
            "read_entries": declared.read_entries,
            "write_entries": declared.write_entries,
            "read_bytes": declared.read_bytes,
            "write_bytes": declared.write_bytes,
        }

    def _still_valid(self, env: Envelope, seq: int, close_time: int) -> str:
        """A cheap re-check of queued transactions before a ledger (core's
        trimInvalid): expired or out-of-sequence ones leave the queue; the
        full validation happens again at apply."""
        tx = env.inner
        if tx.max_time and tx.max_time < close_time:
            return "drop"
        if tx.max_ledger and tx.max_ledger <= seq:
            return "drop"
        src = self.ledger.accounts.get(tx.source)
        if src is None or self.ledger.accounts.get(env.fee_payer) is None:
            return "drop"
        if tx.min_seq_num is None and tx.seq_num != src.seq_num + 1:
            return "drop"
        if (tx.min_time and tx.min_time > close_time) or (
            tx.min_ledger and tx.min_ledger > seq
        ):
            return "wait"
        return "ok"

    def _apply_friendbot(self, seq: int, close_time: int, applied: list) -> None:
        requests, self.friendbot_requests = self.friendbot_requests, []
        for request in requests:
            bot = self.ledger.accounts[self.friendbot_keypair.public_key]
            builder = TransactionBuilder(
                SdkAccount(bot.account_id, bot.seq_num),
                self.passphrase,
                base_fee=self.ledger.base_fee,
            ).set_timeout(300)
            try:
                builder.append_create_account_op(
                    request.address, str(FRIENDBOT_STARTING_BALANCE // STROOPS_PER_XLM)
                )
            except Exception:  # invalid address
                request.error = "invalid address"
                request.event.set()
                continue
            tx = builder.build()
            tx.sign(self.friendbot_keypair)
            env = self.parse(tx.to_xdr())
            fee = self.ledger.charge_fee(
                env, self.ledger.fee_to_charge(env, self.ledger.base_fee)
            )
            result = self.ledger.apply(env, seq, close_time, fee)
            applied.append((request, env, result))

    def _record_ledger(self, seq, close_time, applied, ops, base_rate) -> LedgerRecord:
        successful = failed = operations = 0
        fee_rates = []
        max_fee_rates = []
        for index, (waiter, env, result) in enumerate(applied, start=1):
            env.inner.signatures.verified = {}
            if env.outer_signatures is not None:
                env.outer_signatures.verified = {}
            record = TxRecord(env, result, seq, index, close_time)
            self._index(record)
            if result.successful:
                successful += 1
                operations += len(env.inner.operations)
            else:
                failed += 1
            fee_rates.append(result.fee_charged // env.op_count)
            max_fee_rates.append(env.fee_bid // env.op_count)
            if isinstance(waiter, FriendbotRequest):
                waiter.record = record
                waiter.event.set()
            elif waiter is not None:
                waiter.finish("applied", record)
        previous = self.latest
        ledger_record = LedgerRecord()
        ledger_record.seq = seq
        ledger_record.prev_hash = previous.hash
        ledger_record.hash = hashlib.sha256(
            bytes.fromhex(previous.hash)
            + seq.to_bytes(8, "big")
            + b"".join(env.hash for _w, env, _r in applied)
        ).hexdigest()
        ledger_record.closed_at = close_time
        ledger_record.successful = successful
        ledger_record.failed = failed
        ledger_record.operations = operations
        ledger_record.tx_set_operations = sum(env.op_count for _w, env, _r in applied)
        ledger_record.base_fee = self.ledger.base_fee
        ledger_record.base_reserve = BASE_RESERVE
        ledger_record.max_tx_set_size = self.max_ops_per_ledger
        ledger_record.total_coins = self.ledger.total_coins
        ledger_record.fee_pool = self.ledger.fee_pool
        ledger_record.protocol_version = PROTOCOL_VERSION
        ledger_record.fee_rates = fee_rates
        ledger_record.max_fee_rates = max_fee_rates
        self.ledgers.append(ledger_record)
        return ledger_record

    def _index(self, record: TxRecord) -> None:
        env = record.env
        self.history.append(record)
        self.by_hash[env.hash_hex] = record
        if env.is_fee_bump:
            self.by_hash[env.inner.hash.hex()] = record
        participants = {env.inner.source}
        if env.is_fee_bump:
            participants.add(env.fee_source)
        for op_index, op in enumerate(env.inner.operations):
            source = op.source or env.inner.source
            participants.add(source)
            f = op.fields
            op_id = record.toid + op_index + 1
            op_participants = {source}
            for name in ("destination", "sponsored_id", "trustor", "account"):
                other = f.get(name)
                if isinstance(other, str):
                    op_participants.add(other)
            participants |= op_participants
            for account in op_participants:
                self.operations_by_account.setdefault(account, []).append(
                    (op_id, record, op_index)
                )
            if op.type in (C.CREATE_ACCOUNT, C.PAYMENT, C.ACCOUNT_MERGE):
                for account in {source, f["destination"]}:
                    self.payments_by_account.setdefault(account, []).append(
                        (op_id, record, op_index)
                    )
        for account in participants:
            self.by_account.setdefault(account, []).append(record)

    # ---- reads (callers hold no lock; these take it) -------------------------------------

    def ledger_records(self, seq: int) -> list[TxRecord]:
        """The transactions applied in ledger ``seq`` (caller holds the lock):
        history is in toid order, and a toid starts with the ledger number."""
        start = bisect.bisect_left(self.history, seq << 32, key=lambda r: r.toid)
        end = bisect.bisect_left(self.history, (seq + 1) << 32, key=lambda r: r.toid)
        return self.history[start:end]

    def visible(self, record: TxRecord) -> bool:
        return record.ledger <= self.history_latest_ledger

    def transaction(self, tx_hash: str) -> TxRecord | None:
        with self.lock:
            record = self.by_hash.get(tx_hash)
            if record is None or not self.visible(record):
                return None
            return record

    def wait_for_ledger(self, seq: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.lock:
            while self.latest.seq < seq:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.closed_event.wait(left)
            return True


def paginate(
    items: list,
    key,
    cursor: int | None,
    order: str,
    limit: int,
    visible=lambda item: True,
) -> list:
    """Items (sorted ascending by key) after/before `cursor` in `order`."""
    keys = [key(item) for item in items]
    if order == "desc":
        end = len(items) if cursor is None else bisect.bisect_left(keys, cursor)
        out = []
        for item in reversed(items[:end]):
            if visible(item):
                out.append(item)
                if len(out) == limit:
                    break
        return out
    start = 0 if cursor is None else bisect.bisect_right(keys, cursor)
    out = []
    for item in items[start:]:
        if visible(item):
            out.append(item)
            if len(out) == limit:
                break
    return out
