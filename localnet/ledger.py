"""Ledger state and Stellar's rules for validating and applying transactions.

Amounts are int64 stroops (1 XLM = 10,000,000 stroops) throughout. The rules
follow stellar-core (protocol 21) for the operations this network supports;
the comments name the core behaviour where it is not obvious.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import nacl.exceptions
import nacl.signing
from stellar_sdk import Keypair, StrKey

from localnet import codes as C
from localnet import sac
from localnet.envelope import INVALID_ASSET, MAX_OPS_PER_TX, Envelope, InnerTransaction

STROOPS_PER_XLM = 10_000_000
TOTAL_COINS = 100_000_000_000 * STROOPS_PER_XLM
BASE_RESERVE = 5_000_000  # 0.5 XLM
BASE_FEE = 100
INT64_MAX = 2**63 - 1
MAX_SIGNERS = 20
MAX_SUBENTRIES = 1000
PROTOCOL_VERSION = 21

AUTH_REQUIRED = 0x1
AUTH_REVOCABLE = 0x2
AUTH_IMMUTABLE = 0x4
AUTH_CLAWBACK_ENABLED = 0x8
ALL_ACCOUNT_FLAGS = 0xF

TRUSTLINE_AUTHORIZED = 0x1
TRUSTLINE_AUTHORIZED_TO_MAINTAIN_LIABILITIES = 0x2
TRUSTLINE_CLAWBACK_ENABLED = 0x4
ALL_TRUSTLINE_FLAGS = 0x7

THRESHOLD_LOW, THRESHOLD_MED, THRESHOLD_HIGH = 1, 2, 3

# Validation stages, as stellar-core's commonValid reports them: an invalid
# transaction either leaves its sequence number alone or consumes it.
INVALID = 0
INVALID_UPDATE_SEQ = 1
MAYBE_VALID = 2


class Account:
    __slots__ = (
        "account_id",
        "balance",
        "data",
        "flags",
        "home_domain",
        "inflation_dest",
        "last_modified",
        "num_sponsored",
        "num_sponsoring",
        "num_sub_entries",
        "seq_ledger",
        "seq_num",
        "seq_time",
        "signers",
        "sponsor",
        "thresholds",
    )

    def __init__(self, account_id: str, balance: int, seq_num: int, ledger: int):
        self.account_id = account_id
        self.balance = balance
        self.seq_num = seq_num
        self.num_sub_entries = 0
        self.flags = 0
        self.home_domain = b""
        self.inflation_dest = None
        self.thresholds = (1, 0, 0, 0)  # master weight, low, medium, high
        self.signers: dict[str, tuple[int, str | None]] = {}
        self.num_sponsored = 0
        self.num_sponsoring = 0
        self.sponsor: str | None = None
        self.data: dict[bytes, tuple[bytes, str | None]] = {}
        self.last_modified = ledger
        self.seq_ledger = 0
        self.seq_time = 0

    def copy(self) -> Account:
        clone = Account.__new__(Account)
        for name in Account.__slots__:
            setattr(clone, name, getattr(self, name))
        clone.signers = dict(self.signers)
        clone.data = dict(self.data)
        return clone


class TrustLine:
    __slots__ = (
        "account_id",
        "asset",
        "balance",
        "flags",
        "last_modified",
        "limit",
        "sponsor",
    )

    def __init__(self, account_id, asset, limit, flags, ledger):
        self.account_id = account_id
        self.asset = asset
        self.balance = 0
        self.limit = limit
        self.flags = flags
        self.sponsor = None
        self.last_modified = ledger

    def copy(self) -> TrustLine:
        clone = TrustLine.__new__(TrustLine)
        for name in TrustLine.__slots__:
            setattr(clone, name, getattr(self, name))
        return clone


class OpResult:
    """One operation's result: outer code, operation type, inner code."""

    __slots__ = ("code", "merged_balance", "outer", "soroban", "type")

    def __init__(self, op_type: int, code: int = 0, outer: int = C.OP_INNER):
        self.outer = outer
        self.type = op_type
        self.code = code
        self.merged_balance = 0
        self.soroban: SorobanOutcome | None = None

    @property
    def ok(self) -> bool:
        return self.outer == C.OP_INNER and self.code == 0

    def name(self) -> str:
        return C.operation_code_name(self.outer, self.type, self.code)


class TxResult:
    """A transaction's result; for a fee bump, `inner` holds the inner one."""

    __slots__ = ("code", "fee_charged", "inner", "inner_hash", "op_results")

    def __init__(
        self, code, fee_charged=0, op_results=None, inner=None, inner_hash=None
    ):
        self.code = code
        self.fee_charged = fee_charged
        self.op_results = op_results
        self.inner = inner
        self.inner_hash = inner_hash

    @property
    def successful(self) -> bool:
        return self.code in (C.TX_SUCCESS, C.TX_FEE_BUMP_INNER_SUCCESS)

    def result_codes(self) -> dict:
        """Horizon's `extras.result_codes` object."""
        codes = {"transaction": C.TX_CODE_NAMES[self.code]}
        if self.inner is not None:
            codes["inner_transaction"] = self.inner.result_codes()
        elif self.op_results is not None and self.code == C.TX_FAILED:
            codes["operations"] = [r.name() for r in self.op_results]
        return codes


@lru_cache(maxsize=200_000)
def _raw_key(address: str) -> bytes:
    return StrKey.decode_ed25519_public_key(address)


@lru_cache(maxsize=200_000)
def _verify_key(address: str) -> nacl.signing.VerifyKey:
    return nacl.signing.VerifyKey(_raw_key(address))


@lru_cache(maxsize=10_000)
def _decode_signer(key: str) -> bytes:
    if key[0] == "T":
        return StrKey.decode_pre_auth_tx(key)
    if key[0] == "X":
        return StrKey.decode_sha256_hash(key)
    return b""


class SignatureChecker:
    """stellar-core's SignatureChecker: weights of signers whose signatures are
    present, each signature marked used when it counts for some signer."""

    def __init__(self, signatures):
        self.signatures = signatures
        self.used = [False] * len(signatures.items)

    def _verify(self, index: int, address: str) -> bool:
        key = (index, address)
        cached = self.signatures.verified.get(key)
        if cached is None:
            hint, sig = self.signatures.items[index]
            cached = False
            if hint == _raw_key(address)[-4:]:
                try:
                    _verify_key(address).verify(self.signatures.hash, sig)
                    cached = True
                except (nacl.exceptions.BadSignatureError, ValueError):
                    cached = False
            self.signatures.verified[key] = cached
        return cached

    def check(self, signers: list[tuple[str, int]], needed: int) -> bool:
        total = 0
        remaining = []
        for key, weight in signers:
            weight = min(weight, 255)
            kind = key[0]
            if kind == "T":
                if _decode_signer(key) == self.signatures.hash:
                    total += weight
                    if total >= needed:
                        return True
            else:
                remaining.append((kind, key, weight))
        items = self.signatures.items
        for kind_wanted in ("X", "G"):
            candidates = [s for s in remaining if s[0] == kind_wanted]
            if not candidates:
                continue
            for index in range(len(items)):
                hint, sig = items[index]
                for pos, (kind, key, weight) in enumerate(candidates):
                    if kind == "X":
                        preimage_hash = _decode_signer(key)
                        matched = (
                            hint == preimage_hash[-4:]
                            and hashlib.sha256(sig).digest() == preimage_hash
                        )
                    else:
                        matched = self._verify(index, key)
                    if matched:
                        self.used[index] = True
                        total += weight
                        if total >= needed:
                            return True
                        del candidates[pos]
                        break
        return False

    def all_used(self) -> bool:
        return all(self.used)


def signers_of(account: Account) -> list[tuple[str, int]]:
    signers = [(key, weight) for key, (weight, _sponsor) in account.signers.items()]
    if account.thresholds[0]:
        signers.append((account.account_id, account.thresholds[0]))
    return signers


def threshold_of(op, account: Account) -> int:
    """The threshold an operation's source account must meet."""
    level = THRESHOLD_MED
    if op.type in (C.SET_TRUST_LINE_FLAGS, C.BUMP_SEQUENCE, C.ALLOW_TRUST):
        level = THRESHOLD_LOW
    elif op.type == C.ACCOUNT_MERGE:
        level = THRESHOLD_HIGH
    elif op.type == C.SET_OPTIONS:
        f = op.fields
        if (
            f.get("master_weight") is not None
            or f.get("low_threshold") is not None
            or f.get("med_threshold") is not None
            or f.get("high_threshold") is not None
            or f.get("signer") is not None
        ):
            level = THRESHOLD_HIGH
    return account.thresholds[level]


def _valid_string(value: bytes) -> bool:
    return all(0x20 <= c <= 0x7E for c in value)


class SorobanOutcome:
    """What an invocation left: its events, return value and error message."""

    __slots__ = ("error", "events", "return_value", "success_hash")

    def __init__(self, events, return_value, error: str | None = None):
        self.events = events
        self.return_value = return_value
        self.error = error
        self.success_hash = b""
        if error is None and return_value is not None:
            from stellar_sdk import xdr as X

            self.success_hash = hashlib.sha256(
                X.InvokeHostFunctionSuccessPreImage(
                    return_value=return_value, events=events
                ).to_xdr_bytes()
            ).digest()


class TxContext:
    __slots__ = ("close_time", "ledger_seq", "sponsoring", "tx")

    def __init__(self, ledger_seq: int, close_time: int, tx=None):
        self.ledger_seq = ledger_seq
        self.close_time = close_time
        self.tx = tx
        # sponsored account -> sponsoring account, for this transaction only
        self.sponsoring: dict[str, str] = {}


class Ledger:
    """Accounts and trustlines, with an undo log for transactional apply."""

    def __init__(
        self,
        passphrase: str,
        base_reserve: int = BASE_RESERVE,
        base_fee: int = BASE_FEE,
    ):
        self.passphrase = passphrase
        self.network_id = hashlib.sha256(passphrase.encode()).digest()
        self.base_reserve = base_reserve
        self.base_fee = base_fee
        self.root_keypair = Keypair.from_raw_ed25519_seed(self.network_id)
        self.accounts: dict[str, Account] = {}
        self.lines: dict[str, dict[tuple[str, str], TrustLine]] = {}
        self.fee_pool = 0
        self.total_coins = TOTAL_COINS
        self._scopes: list[dict] = []
        self.ledger_seq = 1
        # Soroban contract data (LedgerKey XDR -> entry with its TTL)
        self.contract_data: dict[bytes, sac.ContractEntry] = {}
        self.persistent_ttl = sac.MIN_PERSISTENT_TTL
        root = Account(self.root_keypair.public_key, TOTAL_COINS, 0, 1)
        self.accounts[root.account_id] = root

    # ---- undo log --------------------------------------------------------

    def _save(self, key, original) -> None:
        if self._scopes:
            scope = self._scopes[-1]
            if key not in scope:
                scope[key] = original

    def begin(self) -> None:
        self._scopes.append({})

    def commit(self) -> None:
        scope = self._scopes.pop()
        if self._scopes:
            parent = self._scopes[-1]
            for key, original in scope.items():
                parent.setdefault(key, original)

    def rollback(self) -> None:
        scope = self._scopes.pop()
        for (kind, key), original in scope.items():
            if kind == "a":
                if original is None:
                    self.accounts.pop(key, None)
                else:
                    self.accounts[key] = original
            elif kind == "c":
                if original is None:
                    self.contract_data.pop(key, None)
                else:
                    self.contract_data[key] = original
            else:
                account_id, asset = key
                if original is None:
                    lines = self.lines.get(account_id)
                    if lines is not None:
                        lines.pop(asset, None)
                        if not lines:
                            del self.lines[account_id]
                else:
                    self.lines.setdefault(account_id, {})[asset] = original

    # ---- entry access -----------------------------------------------------

    def account(self, account_id: str) -> Account | None:
        return self.accounts.get(account_id)

    def account_mut(self, account_id: str) -> Account | None:
        """The account, saved in the undo log before the caller changes it."""
        acc = self.accounts.get(account_id)
        if acc is not None and self._scopes:
            key = ("a", account_id)
            if key not in self._scopes[-1]:
                self._scopes[-1][key] = acc.copy()
        if acc is not None:
            acc.last_modified = self.ledger_seq
        return acc

    def create_account_entry(self, acc: Account) -> None:
        self._save(("a", acc.account_id), None)
        self.accounts[acc.account_id] = acc

    def delete_account_entry(self, account_id: str) -> None:
        acc = self.accounts[account_id]
        self._save(("a", account_id), acc.copy())
        del self.accounts[account_id]

    def put_contract_entry(self, key: bytes, entry: sac.ContractEntry) -> None:
        self._save(("c", key), self.contract_data.get(key))
        self.contract_data[key] = entry

    def trustline(self, account_id: str, asset) -> TrustLine | None:
        lines = self.lines.get(account_id)
        return lines.get(asset) if lines else None

    def trustline_mut(self, account_id: str, asset) -> TrustLine | None:
        line = self.trustline(account_id, asset)
        if line is not None:
            if self._scopes:
                key = ("t", (account_id, asset))
                if key not in self._scopes[-1]:
                    self._scopes[-1][key] = line.copy()
            line.last_modified = self.ledger_seq
        return line

    def create_trustline_entry(self, line: TrustLine) -> None:
        self._save(("t", (line.account_id, line.asset)), None)
        self.lines.setdefault(line.account_id, {})[line.asset] = line

    def delete_trustline_entry(self, account_id: str, asset) -> None:
        line = self.lines[account_id][asset]
        self._save(("t", (account_id, asset)), line.copy())
        del self.lines[account_id][asset]
        if not self.lines[account_id]:
            del self.lines[account_id]

    # ---- balances ---------------------------------------------------------

    def min_balance(self, acc: Account) -> int:
        entries = 2 + acc.num_sub_entries + acc.num_sponsoring - acc.num_sponsored
        return entries * self.base_reserve

    def available_balance(self, acc: Account) -> int:
        return acc.balance - self.min_balance(acc)

    def total_native(self) -> int:
        """Lumens outside the fee pool: in accounts and in contracts' balances
        of the native asset's contract."""
        return sum(
            acc.balance for acc in self.accounts.values()
        ) + sac.native_in_contracts(self)

    # ---- sponsorship (CAP-33) ----------------------------------------------

    def _create_with_sponsorship(
        self, ctx: TxContext, owner: Account, mult: int, sub_entry: bool
    ):
        """Reserve `mult` base reserves for a new entry owned by `owner`.

        Returns (outcome, sponsor id). Outcome is None on success, "low_reserve"
        or "too_many_subentries".
        """
        if sub_entry and owner.num_sub_entries + mult > MAX_SUBENTRIES:
            return "too_many_subentries", None
        sponsor_id = ctx.sponsoring.get(owner.account_id)
        if sponsor_id is not None:
            sponsor = self.account_mut(sponsor_id)
            if sponsor is None:
                return "low_reserve", None
            if sponsor.balance < self.min_balance(sponsor) + mult * self.base_reserve:
                return "low_reserve", None
            sponsor.num_sponsoring += mult
            owner.num_sponsored += mult
            if sub_entry:
                owner.num_sub_entries += mult
            return None, sponsor_id
        if sub_entry:
            if owner.balance < self.min_balance(owner) + mult * self.base_reserve:
                return "low_reserve", None
            owner.num_sub_entries += mult
        return None, None

    def _remove_with_sponsorship(
        self, owner: Account | None, sponsor_id: str | None, mult: int, sub_entry: bool
    ) -> None:
        if sponsor_id is not None:
            sponsor = self.account_mut(sponsor_id)
            if sponsor is not None:
                sponsor.num_sponsoring -= mult
            if owner is not None:
                owner.num_sponsored -= mult
        if sub_entry and owner is not None:
            owner.num_sub_entries -= mult

    # ---- validation -------------------------------------------------------

    def _common_valid(
        self,
        tx: InnerTransaction,
        checker: SignatureChecker,
        ledger_seq: int,
        close_time: int,
        applying: bool,
        charge_fee: bool,
        fee_bid: int,
        op_count: int,
        queued_fees: int = 0,
    ):
        """stellar-core's commonValid: (code or None, stage)."""
        if not tx.operations:
            return C.TX_MISSING_OPERATION, INVALID
        if len(tx.operations) > MAX_OPS_PER_TX:
            return C.TX_MALFORMED, INVALID
        if tx.min_time and tx.min_time > close_time:
            return C.TX_TOO_EARLY, INVALID
        if tx.max_time and tx.max_time < close_time:
            return C.TX_TOO_LATE, INVALID
        if tx.min_ledger and tx.min_ledger > ledger_seq:
            return C.TX_TOO_EARLY, INVALID
        # the ledger bound's upper end is exclusive (CAP-21)
        if tx.max_ledger and tx.max_ledger <= ledger_seq:
            return C.TX_TOO_LATE, INVALID
        if (
            charge_fee
            and not applying
            and fee_bid - tx.resource_fee < self.base_fee * op_count
        ):
            return C.TX_INSUFFICIENT_FEE, INVALID
        src = self.accounts.get(tx.source)
        if src is None:
            return C.TX_NO_ACCOUNT, INVALID
        if tx.min_seq_num is None:
            if tx.seq_num != src.seq_num + 1:
                return C.TX_BAD_SEQ, INVALID
        elif not (tx.min_seq_num <= src.seq_num < tx.seq_num):
            return C.TX_BAD_SEQ, INVALID
        if tx.min_seq_age and close_time - src.seq_time < tx.min_seq_age:
            return C.TX_BAD_MIN_SEQ_AGE_OR_GAP, INVALID
        if (
            tx.min_seq_ledger_gap
            and ledger_seq - src.seq_ledger < tx.min_seq_ledger_gap
        ):
            return C.TX_BAD_MIN_SEQ_AGE_OR_GAP, INVALID
        if not checker.check(signers_of(src), src.thresholds[THRESHOLD_LOW]):
            return C.TX_BAD_AUTH, INVALID_UPDATE_SEQ
        for extra in tx.extra_signers:
            if not checker.check([(extra, 1)], 1):
                return C.TX_BAD_AUTH, INVALID_UPDATE_SEQ
        if (
            charge_fee
            and not applying
            and self.available_balance(src) < fee_bid + queued_fees
        ):
            return C.TX_INSUFFICIENT_BALANCE, INVALID_UPDATE_SEQ
        return None, MAYBE_VALID

    def _check_op_signature(
        self, op, tx_source: str, checker: SignatureChecker, for_apply: bool
    ) -> int:
        source_id = op.source or tx_source
        acc = self.accounts.get(source_id)
        if acc is not None:
            if not checker.check(signers_of(acc), threshold_of(op, acc)):
                return C.OP_BAD_AUTH
            return C.OP_INNER
        if for_apply or op.source is None:
            return C.OP_NO_ACCOUNT
        # An account that doesn't exist yet (created earlier in this very
        # transaction) must sign with its master key.
        if not checker.check([(source_id, 1)], 0):
            return C.OP_BAD_AUTH
        return C.OP_INNER

    def check_valid(
        self, env: Envelope, ledger_seq: int, close_time: int, queued_fees: int = 0
    ) -> TxResult:
        """Validate an envelope for the queue (stellar-core's checkValid)."""
        if env.is_fee_bump:
            return self._check_valid_fee_bump(env, ledger_seq, close_time, queued_fees)
        return self._check_valid_inner(
            env.inner,
            env.fee_bid,
            env.op_count,
            ledger_seq,
            close_time,
            True,
            queued_fees,
        )

    def _check_valid_inner(
        self,
        tx: InnerTransaction,
        fee_bid: int,
        op_count: int,
        ledger_seq: int,
        close_time: int,
        charge_fee: bool,
        queued_fees: int,
    ) -> TxResult:
        checker = SignatureChecker(tx.signatures)
        code, _stage = self._common_valid(
            tx,
            checker,
            ledger_seq,
            close_time,
            False,
            charge_fee,
            fee_bid,
            op_count,
            queued_fees,
        )
        if code is not None:
            return TxResult(code, fee_bid)
        soroban_code = self._soroban_check_valid(tx)
        if soroban_code is not None:
            return TxResult(soroban_code, fee_bid)
        results = [OpResult(op.type) for op in tx.operations]
        for op, result in zip(tx.operations, results, strict=False):
            if op.type not in C.SUPPORTED_OPERATIONS or op.fields.get("unsupported"):
                result.outer = C.OP_NOT_SUPPORTED
                return TxResult(C.TX_FAILED, fee_bid, results)
            outer = self._check_op_signature(op, tx.source, checker, False)
            if outer != C.OP_INNER:
                result.outer = outer
                return TxResult(C.TX_FAILED, fee_bid, results)
            code = self._op_check_valid(op, op.source or tx.source)
            if code:
                result.code = code
                return TxResult(C.TX_FAILED, fee_bid, results)
        if not checker.all_used():
            return TxResult(C.TX_BAD_AUTH_EXTRA, fee_bid)
        return TxResult(C.TX_SUCCESS, fee_bid, results)

    def _soroban_check_valid(self, tx: InnerTransaction) -> int | None:
        """Core's Soroban checks: one operation, resources declared, within
        the per-transaction limits, and a resource fee that covers them."""
        has_soroban_op = any(op.type in C.SOROBAN_OPERATIONS for op in tx.operations)
        if not has_soroban_op:
            return C.TX_MALFORMED if tx.soroban is not None else None
        if len(tx.operations) != 1 or tx.soroban is None:
            return C.TX_MALFORMED
        declared = sac.declared_resources(tx.soroban)
        if not sac.check_tx_limits(declared):
            return C.TX_SOROBAN_INVALID
        if tx.resource_fee < sac.minimum_fee(tx.soroban, tx.size):
            return C.TX_SOROBAN_INVALID
        if tx.resource_fee > tx.fee:
            return C.TX_MALFORMED
        return None

    def _check_valid_fee_bump(
        self, env: Envelope, ledger_seq: int, close_time: int, queued_fees: int
    ) -> TxResult:
        inner = env.inner
        inner_ops = len(inner.operations)
        resource_fee = inner.resource_fee
        if env.fee_bid - resource_fee < self.base_fee * (inner_ops + 1):
            return TxResult(C.TX_INSUFFICIENT_FEE, env.fee_bid)
        # the outer bid per operation must be at least the inner one (inclusion
        # fees only: the Soroban resource fee is paid once)
        if (env.fee_bid - resource_fee) * inner_ops < (inner.fee - resource_fee) * (
            inner_ops + 1
        ):
            return TxResult(C.TX_INSUFFICIENT_FEE, env.fee_bid)
        fee_source = self.accounts.get(env.fee_source)
        if fee_source is None:
            return TxResult(C.TX_NO_ACCOUNT, env.fee_bid)
        checker = SignatureChecker(env.outer_signatures)
        if not checker.check(
            signers_of(fee_source), fee_source.thresholds[THRESHOLD_LOW]
        ):
            return TxResult(C.TX_BAD_AUTH, env.fee_bid)
        if self.available_balance(fee_source) < env.fee_bid + queued_fees:
            return TxResult(C.TX_INSUFFICIENT_BALANCE, env.fee_bid)
        inner_result = self._check_valid_inner(
            inner, inner.fee, inner_ops, ledger_seq, close_time, False, 0
        )
        if inner_result.code != C.TX_SUCCESS:
            inner_result.fee_charged = 0
            return TxResult(
                C.TX_FEE_BUMP_INNER_FAILED,
                env.fee_bid,
                inner=inner_result,
                inner_hash=inner.hash,
            )
        if not checker.all_used():
            return TxResult(C.TX_BAD_AUTH_EXTRA, env.fee_bid)
        inner_result.fee_charged = 0
        return TxResult(
            C.TX_FEE_BUMP_INNER_SUCCESS,
            env.fee_bid,
            inner=inner_result,
            inner_hash=inner.hash,
        )

    # ---- fees ---------------------------------------------------------------

    def fee_to_charge(self, env: Envelope, base_fee_rate: int) -> int:
        """What a transaction pays in a ledger whose per-operation price is
        `base_fee_rate`: never more than its bid."""
        return env.resource_fee + min(env.inclusion_bid, base_fee_rate * env.op_count)

    def charge_fee(self, env: Envelope, fee: int) -> int:
        """Take the fee from the fee payer (before any transaction applies)."""
        payer = self.account_mut(env.fee_payer)
        if payer is None:
            return 0
        fee = min(payer.balance, fee)
        payer.balance -= fee
        self.fee_pool += fee
        return fee

    # ---- apply --------------------------------------------------------------

    def apply(
        self, env: Envelope, ledger_seq: int, close_time: int, fee_charged: int
    ) -> TxResult:
        """Apply one envelope whose fee was already charged."""
        self.ledger_seq = ledger_seq
        if not env.is_fee_bump:
            result = self._apply_inner(env.inner, ledger_seq, close_time)
            result.fee_charged = fee_charged
            return result
        inner_result = self._apply_inner(env.inner, ledger_seq, close_time)
        inner_result.fee_charged = 0
        code = (
            C.TX_FEE_BUMP_INNER_SUCCESS
            if inner_result.code == C.TX_SUCCESS
            else C.TX_FEE_BUMP_INNER_FAILED
        )
        return TxResult(
            code, fee_charged, inner=inner_result, inner_hash=env.inner.hash
        )

    def _apply_inner(
        self, tx: InnerTransaction, ledger_seq: int, close_time: int
    ) -> TxResult:
        checker = SignatureChecker(tx.signatures)
        code, stage = self._common_valid(
            tx, checker, ledger_seq, close_time, True, False, 0, 0
        )
        if stage >= INVALID_UPDATE_SEQ:
            src = self.account_mut(tx.source)
            src.seq_num = tx.seq_num
            src.seq_ledger = ledger_seq
            src.seq_time = close_time
        if code is not None:
            self._remove_one_time_signers(tx)
            return TxResult(code)
        results = [OpResult(op.type) for op in tx.operations]
        signatures_ok = True
        for op, result in zip(tx.operations, results, strict=False):
            outer = self._check_op_signature(op, tx.source, checker, False)
            if outer != C.OP_INNER:
                result.outer = outer
                signatures_ok = False
        self._remove_one_time_signers(tx)
        if not signatures_ok:
            return TxResult(C.TX_FAILED, 0, results)
        if not checker.all_used():
            return TxResult(C.TX_BAD_AUTH_EXTRA)

        ctx = TxContext(ledger_seq, close_time, tx)
        self.begin()
        success = True
        for index, op in enumerate(tx.operations):
            self.begin()
            saved_sponsoring = dict(ctx.sponsoring)
            result = self._apply_op(op, tx.source, ctx)
            results[index] = result
            if result.ok and success:
                self.commit()
            else:
                # core keeps applying the remaining operations to report their
                # results, but nothing after a failure is kept
                self.rollback()
                ctx.sponsoring = saved_sponsoring
                success = False
        if success and ctx.sponsoring:
            self.rollback()
            return TxResult(C.TX_BAD_SPONSORSHIP)
        if not success:
            self.rollback()
            return TxResult(C.TX_FAILED, 0, results)
        self.commit()
        return TxResult(C.TX_SUCCESS, 0, results)

    def _remove_one_time_signers(self, tx: InnerTransaction) -> None:
        """Pre-authorized transaction signers are used up once the transaction
        is applied, whatever its outcome."""
        key = StrKey.encode_pre_auth_tx(tx.hash)
        sources = {tx.source} | {op.source for op in tx.operations if op.source}
        for account_id in sources:
            acc = self.accounts.get(account_id)
            if acc is not None and key in acc.signers:
                acc = self.account_mut(account_id)
                _weight, sponsor = acc.signers.pop(key)
                self._remove_with_sponsorship(acc, sponsor, 1, True)

    def _apply_op(self, op, tx_source: str, ctx: TxContext) -> OpResult:
        if op.type not in C.SUPPORTED_OPERATIONS or op.fields.get("unsupported"):
            return OpResult(op.type, outer=C.OP_NOT_SUPPORTED)
        source_id = op.source or tx_source
        if source_id not in self.accounts:
            return OpResult(op.type, outer=C.OP_NO_ACCOUNT)
        code = self._op_check_valid(op, source_id)
        if code:
            return OpResult(op.type, code)
        handler = _APPLY[op.type]
        return handler(self, op, source_id, ctx)

    # ---- per-operation checks that don't need ledger state ---------------------

    def _op_check_valid(self, op, source_id: str) -> int:
        f = op.fields
        t = op.type
        if t == C.CREATE_ACCOUNT:
            if f["starting_balance"] < 0 or f["destination"] == source_id:
                return C.CREATE_ACCOUNT_MALFORMED
        elif t == C.PAYMENT:
            if f["amount"] <= 0 or f["asset"] == INVALID_ASSET:
                return C.PAYMENT_MALFORMED
        elif t == C.CHANGE_TRUST:
            asset = f["asset"]
            if f["limit"] < 0 or asset is None or asset == INVALID_ASSET:
                return C.CHANGE_TRUST_MALFORMED
            if asset[1] == source_id:
                return C.CHANGE_TRUST_MALFORMED
        elif t == C.SET_OPTIONS:
            return _set_options_check_valid(f, source_id)
        elif t == C.ACCOUNT_MERGE:
            if f["destination"] == source_id:
                return C.ACCOUNT_MERGE_MALFORMED
        elif t == C.MANAGE_DATA:
            if not f["name"] or not _valid_string(f["name"]):
                return C.MANAGE_DATA_INVALID_NAME
        elif t == C.BUMP_SEQUENCE:
            if f["bump_to"] < 0:
                return C.BUMP_SEQUENCE_BAD_SEQ
        elif t == C.BEGIN_SPONSORING_FUTURE_RESERVES:
            if f["sponsored_id"] == source_id:
                return C.BEGIN_SPONSORING_MALFORMED
        elif t == C.REVOKE_SPONSORSHIP:
            kind = f["kind"]
            if kind in ("malformed", "pool_share"):
                return C.REVOKE_SPONSORSHIP_MALFORMED
            if kind == "trustline" and (
                f["asset"] is None or f["asset"] == INVALID_ASSET
            ):
                return C.REVOKE_SPONSORSHIP_MALFORMED
            if kind == "data" and (not f["name"] or not _valid_string(f["name"])):
                return C.REVOKE_SPONSORSHIP_MALFORMED
        elif t == C.SET_TRUST_LINE_FLAGS:
            asset = f["asset"]
            set_flags, clear_flags = f["set_flags"], f["clear_flags"]
            if asset is None or asset == INVALID_ASSET or asset[1] != source_id:
                return C.SET_TRUST_LINE_FLAGS_MALFORMED
            if f["trustor"] == source_id:
                return C.SET_TRUST_LINE_FLAGS_MALFORMED
            if set_flags & clear_flags:
                return C.SET_TRUST_LINE_FLAGS_MALFORMED
            if set_flags & TRUSTLINE_CLAWBACK_ENABLED:
                return C.SET_TRUST_LINE_FLAGS_MALFORMED
            if (set_flags | clear_flags) & ~ALL_TRUSTLINE_FLAGS:
                return C.SET_TRUST_LINE_FLAGS_MALFORMED
            both = TRUSTLINE_AUTHORIZED | TRUSTLINE_AUTHORIZED_TO_MAINTAIN_LIABILITIES
            if set_flags & both == both:
                return C.SET_TRUST_LINE_FLAGS_MALFORMED
        return 0


def _set_options_check_valid(f: dict, source_id: str) -> int:
    set_flags, clear_flags = f["set_flags"], f["clear_flags"]
    if set_flags is not None and set_flags & ~ALL_ACCOUNT_FLAGS:
        return C.SET_OPTIONS_UNKNOWN_FLAG
    if clear_flags is not None and clear_flags & ~ALL_ACCOUNT_FLAGS:
        return C.SET_OPTIONS_UNKNOWN_FLAG
    if set_flags is not None and clear_flags is not None and set_flags & clear_flags:
        return C.SET_OPTIONS_BAD_FLAGS
    for name in ("master_weight", "low_threshold", "med_threshold", "high_threshold"):
        value = f[name]
        if value is not None and value > 255:
            return C.SET_OPTIONS_THRESHOLD_OUT_OF_RANGE
    signer = f["signer"]
    if signer is not None:
        key, weight = signer
        if key == source_id or weight > 255 or key[0] == "P":
            return C.SET_OPTIONS_BAD_SIGNER
    home_domain = f["home_domain"]
    if home_domain is not None and not _valid_string(home_domain):
        return C.SET_OPTIONS_INVALID_HOME_DOMAIN
    return 0


# ---- operation apply functions ------------------------------------------------


def _create_account(ledger: Ledger, op, source_id: str, ctx: TxContext) -> OpResult:
    f = op.fields
    dest_id = f["destination"]
    starting = f["starting_balance"]
    result = OpResult(C.CREATE_ACCOUNT)
    if dest_id in ledger.accounts:
        result.code = C.CREATE_ACCOUNT_ALREADY_EXIST
        return result
    new = Account(dest_id, starting, ctx.ledger_seq << 32, ctx.ledger_seq)
    sponsor_id = ctx.sponsoring.get(dest_id)
    if sponsor_id is not None:
        sponsor = ledger.account_mut(sponsor_id)
        if sponsor is None or sponsor.balance < (
            ledger.min_balance(sponsor) + 2 * ledger.base_reserve
        ):
            result.code = C.CREATE_ACCOUNT_LOW_RESERVE
            return result
        sponsor.num_sponsoring += 2
        new.num_sponsored = 2
        new.sponsor = sponsor_id
    elif starting < ledger.min_balance(new):
        result.code = C.CREATE_ACCOUNT_LOW_RESERVE
        return result
    src = ledger.account_mut(source_id)
    if ledger.available_balance(src) < starting:
        result.code = C.CREATE_ACCOUNT_UNDERFUNDED
        return result
    src.balance -= starting
    ledger.create_account_entry(new)
    return result


def _payment(ledger: Ledger, op, source_id: str, ctx: TxContext) -> OpResult:
    f = op.fields
    dest_id, asset, amount = f["destination"], f["asset"], f["amount"]
    result = OpResult(C.PAYMENT)
    if asset is None and dest_id == source_id:
        return result  # sending XLM to oneself always succeeds
    dest = ledger.accounts.get(dest_id)
    if dest is None:
        result.code = C.PAYMENT_NO_DESTINATION
        return result
    if asset is None:
        if dest.balance > INT64_MAX - amount:
            result.code = C.PAYMENT_LINE_FULL
            return result
        src = ledger.account(source_id)
        if ledger.available_balance(src) < amount:
            result.code = C.PAYMENT_UNDERFUNDED
            return result
        ledger.account_mut(dest_id).balance += amount
        ledger.account_mut(source_id).balance -= amount
        return result
    issuer = asset[1]
    if dest_id != issuer:
        line = ledger.trustline(dest_id, asset)
        if line is None:
            result.code = C.PAYMENT_NO_TRUST
            return result
        if not line.flags & TRUSTLINE_AUTHORIZED:
            result.code = C.PAYMENT_NOT_AUTHORIZED
            return result
        if line.balance + amount > line.limit:
            result.code = C.PAYMENT_LINE_FULL
            return result
        ledger.trustline_mut(dest_id, asset).balance += amount
    if source_id != issuer:
        line = ledger.trustline(source_id, asset)
        if line is None:
            result.code = C.PAYMENT_SRC_NO_TRUST
            return result
        if not line.flags & TRUSTLINE_AUTHORIZED:
            result.code = C.PAYMENT_SRC_NOT_AUTHORIZED
            return result
        if line.balance < amount:
            result.code = C.PAYMENT_UNDERFUNDED
            return result
        ledger.trustline_mut(source_id, asset).balance -= amount
    return result


def _change_trust(ledger: Ledger, op, source_id: str, ctx: TxContext) -> OpResult:
    f = op.fields
    asset, limit = f["asset"], f["limit"]
    result = OpResult(C.CHANGE_TRUST)
    line = ledger.trustline(source_id, asset)
    if line is not None:
        if limit < line.balance:
            result.code = C.CHANGE_TRUST_INVALID_LIMIT
            return result
        if limit == 0:
            src = ledger.account_mut(source_id)
            ledger._remove_with_sponsorship(src, line.sponsor, 1, True)
            ledger.delete_trustline_entry(source_id, asset)
            return result
        ledger.trustline_mut(source_id, asset).limit = limit
        return result
    if limit == 0:
        result.code = C.CHANGE_TRUST_INVALID_LIMIT
        return result
    issuer = ledger.accounts.get(asset[1])
    if issuer is None:
        result.code = C.CHANGE_TRUST_NO_ISSUER
        return result
    flags = 0 if issuer.flags & AUTH_REQUIRED else TRUSTLINE_AUTHORIZED
    if issuer.flags & AUTH_CLAWBACK_ENABLED:
        flags |= TRUSTLINE_CLAWBACK_ENABLED
    src = ledger.account_mut(source_id)
    outcome, sponsor = ledger._create_with_sponsorship(ctx, src, 1, True)
    if outcome == "low_reserve":
        result.code = C.CHANGE_TRUST_LOW_RESERVE
        return result
    if outcome == "too_many_subentries":
        return OpResult(C.CHANGE_TRUST, outer=C.OP_TOO_MANY_SUBENTRIES)
    line = TrustLine(source_id, asset, limit, flags, ctx.ledger_seq)
    line.sponsor = sponsor
    ledger.create_trustline_entry(line)
    return result


def _set_options(ledger: Ledger, op, source_id: str, ctx: TxContext) -> OpResult:
    f = op.fields
    result = OpResult(C.SET_OPTIONS)
    src = ledger.account_mut(source_id)
    if f["inflation_dest"] is not None:
        if f["inflation_dest"] not in ledger.accounts:
            result.code = C.SET_OPTIONS_INVALID_INFLATION
            return result
        src.inflation_dest = f["inflation_dest"]
    auth_flags = ALL_ACCOUNT_FLAGS
    if f["clear_flags"] is not None:
        if f["clear_flags"] & auth_flags and src.flags & AUTH_IMMUTABLE:
            result.code = C.SET_OPTIONS_CANT_CHANGE
            return result
        src.flags &= ~f["clear_flags"]
    if f["set_flags"] is not None:
        if f["set_flags"] & auth_flags and src.flags & AUTH_IMMUTABLE:
            result.code = C.SET_OPTIONS_CANT_CHANGE
            return result
        src.flags |= f["set_flags"]
    if src.flags & AUTH_CLAWBACK_ENABLED and not src.flags & AUTH_REVOCABLE:
        result.code = C.SET_OPTIONS_AUTH_REVOCABLE_REQUIRED
        return result
    if f["home_domain"] is not None:
        src.home_domain = f["home_domain"]
    thresholds = list(src.thresholds)
    for index, name in enumerate(
        ("master_weight", "low_threshold", "med_threshold", "high_threshold")
    ):
        if f[name] is not None:
            thresholds[index] = f[name]
    src.thresholds = tuple(thresholds)
    if f["signer"] is not None:
        key, weight = f["signer"]
        if weight:
            if key in src.signers:
                src.signers[key] = (weight, src.signers[key][1])
            else:
                if len(src.signers) >= MAX_SIGNERS:
                    result.code = C.SET_OPTIONS_TOO_MANY_SIGNERS
                    return result
                outcome, sponsor = ledger._create_with_sponsorship(ctx, src, 1, True)
                if outcome == "low_reserve":
                    result.code = C.SET_OPTIONS_LOW_RESERVE
                    return result
                if outcome == "too_many_subentries":
                    return OpResult(C.SET_OPTIONS, outer=C.OP_TOO_MANY_SUBENTRIES)
                src.signers[key] = (weight, sponsor)
                src.signers = dict(sorted(src.signers.items()))
        elif key in src.signers:
            _weight, sponsor = src.signers.pop(key)
            ledger._remove_with_sponsorship(src, sponsor, 1, True)
    return result


def _account_merge(ledger: Ledger, op, source_id: str, ctx: TxContext) -> OpResult:
    dest_id = op.fields["destination"]
    result = OpResult(C.ACCOUNT_MERGE)
    dest = ledger.accounts.get(dest_id)
    if dest is None:
        result.code = C.ACCOUNT_MERGE_NO_ACCOUNT
        return result
    src = ledger.account(source_id)
    if src.flags & AUTH_IMMUTABLE:
        result.code = C.ACCOUNT_MERGE_IMMUTABLE_SET
        return result
    if src.num_sub_entries != len(src.signers):
        result.code = C.ACCOUNT_MERGE_HAS_SUB_ENTRIES
        return result
    if src.seq_num >= ctx.ledger_seq << 32:
        result.code = C.ACCOUNT_MERGE_SEQNUM_TOO_FAR
        return result
    if src.num_sponsoring > 0:
        result.code = C.ACCOUNT_MERGE_IS_SPONSOR
        return result
    if dest.balance > INT64_MAX - src.balance:
        result.code = C.ACCOUNT_MERGE_DEST_FULL
        return result
    src = ledger.account_mut(source_id)
    ledger.account_mut(dest_id).balance += src.balance
    result.merged_balance = src.balance
    for _key, (_weight, sponsor) in list(src.signers.items()):
        ledger._remove_with_sponsorship(src, sponsor, 1, True)
    ledger._remove_with_sponsorship(src, src.sponsor, 2, False)
    ledger.delete_account_entry(source_id)
    return result


def _manage_data(ledger: Ledger, op, source_id: str, ctx: TxContext) -> OpResult:
    name, value = op.fields["name"], op.fields["value"]
    result = OpResult(C.MANAGE_DATA)
    src = ledger.account_mut(source_id)
    existing = src.data.get(name)
    if value is not None:
        if existing is not None:
            src.data[name] = (value, existing[1])
            return result
        outcome, sponsor = ledger._create_with_sponsorship(ctx, src, 1, True)
        if outcome == "low_reserve":
            result.code = C.MANAGE_DATA_LOW_RESERVE
            return result
        if outcome == "too_many_subentries":
            return OpResult(C.MANAGE_DATA, outer=C.OP_TOO_MANY_SUBENTRIES)
        src.data[name] = (value, sponsor)
        return result
    if existing is None:
        result.code = C.MANAGE_DATA_NAME_NOT_FOUND
        return result
    del src.data[name]
    ledger._remove_with_sponsorship(src, existing[1], 1, True)
    return result


def _bump_sequence(ledger: Ledger, op, source_id: str, ctx: TxContext) -> OpResult:
    bump_to = op.fields["bump_to"]
    src = ledger.account(source_id)
    if bump_to > src.seq_num:
        src = ledger.account_mut(source_id)
        src.seq_num = bump_to
        src.seq_ledger = ctx.ledger_seq
        src.seq_time = ctx.close_time
    return OpResult(C.BUMP_SEQUENCE)


def _begin_sponsoring(ledger: Ledger, op, source_id: str, ctx: TxContext) -> OpResult:
    sponsored = op.fields["sponsored_id"]
    result = OpResult(C.BEGIN_SPONSORING_FUTURE_RESERVES)
    if sponsored in ctx.sponsoring:
        result.code = C.BEGIN_SPONSORING_ALREADY_SPONSORED
        return result
    if source_id in ctx.sponsoring or sponsored in ctx.sponsoring.values():
        result.code = C.BEGIN_SPONSORING_RECURSIVE
        return result
    ctx.sponsoring[sponsored] = source_id
    return result


def _end_sponsoring(ledger: Ledger, op, source_id: str, ctx: TxContext) -> OpResult:
    result = OpResult(C.END_SPONSORING_FUTURE_RESERVES)
    if source_id not in ctx.sponsoring:
        result.code = C.END_SPONSORING_NOT_SPONSORED
        return result
    del ctx.sponsoring[source_id]
    return result


def _revoke_sponsorship(ledger: Ledger, op, source_id: str, ctx: TxContext) -> OpResult:
    f = op.fields
    kind = f["kind"]
    result = OpResult(C.REVOKE_SPONSORSHIP)
    owner_id = f.get("account")
    owner = ledger.accounts.get(owner_id) if owner_id else None
    # find the entry and its current sponsor
    if kind == "absent" or owner is None:
        result.code = C.REVOKE_SPONSORSHIP_DOES_NOT_EXIST
        return result
    mult = 1
    if kind == "account":
        current = owner.sponsor
        mult = 2
    elif kind == "trustline":
        line = ledger.trustline(owner_id, f["asset"])
        if line is None:
            result.code = C.REVOKE_SPONSORSHIP_DOES_NOT_EXIST
            return result
        current = line.sponsor
    elif kind == "data":
        entry = owner.data.get(f["name"])
        if entry is None:
            result.code = C.REVOKE_SPONSORSHIP_DOES_NOT_EXIST
            return result
        current = entry[1]
    else:  # signer
        entry = owner.signers.get(f["signer"])
        if entry is None:
            result.code = C.REVOKE_SPONSORSHIP_DOES_NOT_EXIST
            return result
        current = entry[1]
    if current is not None:
        if current != source_id:
            result.code = C.REVOKE_SPONSORSHIP_NOT_SPONSOR
            return result
    elif owner_id != source_id:
        result.code = C.REVOKE_SPONSORSHIP_NOT_SPONSOR
        return result
    # The new sponsor is whoever sponsors the revoking account's future
    # reserves in this transaction (that is how a sponsorship is transferred);
    # with none, the owner takes the reserve back.
    new_sponsor_id = ctx.sponsoring.get(source_id)
    if new_sponsor_id == owner_id:
        new_sponsor_id = None
    if current is None and new_sponsor_id is None:
        return result
    owner = ledger.account_mut(owner_id)
    reserve = mult * ledger.base_reserve
    if new_sponsor_id is not None:
        new_sponsor = ledger.account_mut(new_sponsor_id)
        if new_sponsor is None or new_sponsor.balance < (
            ledger.min_balance(new_sponsor) + reserve
        ):
            result.code = C.REVOKE_SPONSORSHIP_LOW_RESERVE
            return result
        new_sponsor.num_sponsoring += mult
        if current is None:
            owner.num_sponsored += mult
    if current is not None:
        old_sponsor = ledger.account_mut(current)
        old_sponsor.num_sponsoring -= mult
        if new_sponsor_id is None:
            owner.num_sponsored -= mult
            if owner.balance < ledger.min_balance(owner):
                result.code = C.REVOKE_SPONSORSHIP_LOW_RESERVE
                return result
    if kind == "account":
        owner.sponsor = new_sponsor_id
    elif kind == "trustline":
        ledger.trustline_mut(owner_id, f["asset"]).sponsor = new_sponsor_id
    elif kind == "data":
        owner.data[f["name"]] = (owner.data[f["name"]][0], new_sponsor_id)
    else:
        owner.signers[f["signer"]] = (owner.signers[f["signer"]][0], new_sponsor_id)
    return result


def _set_trust_line_flags(
    ledger: Ledger, op, source_id: str, ctx: TxContext
) -> OpResult:
    f = op.fields
    result = OpResult(C.SET_TRUST_LINE_FLAGS)
    line = ledger.trustline(f["trustor"], f["asset"])
    if line is None:
        result.code = C.SET_TRUST_LINE_FLAGS_NO_TRUST_LINE
        return result
    issuer = ledger.account(source_id)
    new_flags = (line.flags & ~f["clear_flags"]) | f["set_flags"]
    both = TRUSTLINE_AUTHORIZED | TRUSTLINE_AUTHORIZED_TO_MAINTAIN_LIABILITIES
    if new_flags & both == both:
        result.code = C.SET_TRUST_LINE_FLAGS_INVALID_STATE
        return result
    if not issuer.flags & AUTH_REVOCABLE:
        was_authorized = line.flags & TRUSTLINE_AUTHORIZED
        was_maintain = line.flags & both
        if (was_authorized and not new_flags & TRUSTLINE_AUTHORIZED) or (
            was_maintain and not new_flags & both
        ):
            result.code = C.SET_TRUST_LINE_FLAGS_CANT_REVOKE
            return result
    ledger.trustline_mut(f["trustor"], f["asset"]).flags = new_flags
    return result


# ---- Soroban operations ---------------------------------------------------------------

INVOKE_MALFORMED, INVOKE_TRAPPED, INVOKE_RESOURCE_LIMIT, INVOKE_ARCHIVED = (
    -1,
    -2,
    -3,
    -4,
)
INVOKE_INSUFFICIENT_REFUNDABLE_FEE = -5
RESTORE_MALFORMED, RESTORE_RESOURCE_LIMIT, RESTORE_INSUFFICIENT_FEE = -1, -2, -3


def _footprint(tx) -> tuple[set[bytes], set[bytes]]:
    declared = sac.declared_resources(tx.soroban)
    return set(declared.read_only), set(declared.read_write)


def _invoke_host_function(
    ledger: Ledger, op, source_id: str, ctx: TxContext
) -> OpResult:
    tx = ctx.tx
    result = OpResult(C.INVOKE_HOST_FUNCTION)
    ro, rw = _footprint(tx)
    # an archived persistent entry anywhere in the footprint stops the call
    for raw in ro | rw:
        entry = ledger.contract_data.get(raw)
        if entry is not None and entry.live_until < ctx.ledger_seq:
            result.code = INVOKE_ARCHIVED
            result.soroban = SorobanOutcome([], None, "entry archived")
            return result
    host = sac.Host(ledger, ctx.ledger_seq, source_id, (ro, rw), op.fields["auth"])
    try:
        value = host.run(op.fields["host_function"])
    except sac.HostError as exc:
        result.code = INVOKE_ARCHIVED if exc.kind == "archived" else INVOKE_TRAPPED
        result.soroban = SorobanOutcome([], None, exc.message)
        return result
    declared = sac.declared_resources(tx.soroban)
    used = host.resources()
    if (
        used.instructions > declared.instructions
        or used.read_bytes > declared.read_bytes
        or used.write_bytes > declared.write_bytes
    ):
        result.code = INVOKE_RESOURCE_LIMIT
        result.soroban = SorobanOutcome([], None, "resource limit exceeded")
        return result
    needed = sac.resource_fee(
        declared, tx.size, host.events_size(), host.rent_bytes, ledger.persistent_ttl
    )
    if needed > tx.resource_fee:
        result.code = INVOKE_INSUFFICIENT_REFUNDABLE_FEE
        result.soroban = SorobanOutcome([], None, "insufficient refundable fee")
        return result
    host.commit()
    result.soroban = SorobanOutcome(host.events, value)
    return result


def _restore_footprint(ledger: Ledger, op, source_id: str, ctx: TxContext) -> OpResult:
    tx = ctx.tx
    result = OpResult(C.RESTORE_FOOTPRINT)
    ro, rw = _footprint(tx)
    if ro:
        result.code = RESTORE_MALFORMED
        return result
    restored = sac.restore(ledger, sorted(rw), ctx.ledger_seq)
    declared = sac.declared_resources(tx.soroban)
    needed = sac.resource_fee(declared, tx.size, 0, restored, ledger.persistent_ttl)
    if needed > tx.resource_fee:
        result.code = RESTORE_INSUFFICIENT_FEE
    return result


def _extend_footprint_ttl(
    ledger: Ledger, op, source_id: str, ctx: TxContext
) -> OpResult:
    ro, rw = _footprint(ctx.tx)
    result = OpResult(C.EXTEND_FOOTPRINT_TTL)
    if rw:
        result.code = RESTORE_MALFORMED
        return result
    sac.extend_ttl(ledger, sorted(ro), ctx.ledger_seq, op.fields["extend_to"])
    return result


_APPLY = {
    C.CREATE_ACCOUNT: _create_account,
    C.PAYMENT: _payment,
    C.CHANGE_TRUST: _change_trust,
    C.SET_OPTIONS: _set_options,
    C.ACCOUNT_MERGE: _account_merge,
    C.MANAGE_DATA: _manage_data,
    C.BUMP_SEQUENCE: _bump_sequence,
    C.BEGIN_SPONSORING_FUTURE_RESERVES: _begin_sponsoring,
    C.END_SPONSORING_FUTURE_RESERVES: _end_sponsoring,
    C.REVOKE_SPONSORSHIP: _revoke_sponsorship,
    C.SET_TRUST_LINE_FLAGS: _set_trust_line_flags,
    C.INVOKE_HOST_FUNCTION: _invoke_host_function,
    C.EXTEND_FOOTPRINT_TTL: _extend_footprint_ttl,
    C.RESTORE_FOOTPRINT: _restore_footprint,
}
