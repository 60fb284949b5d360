"""Soroban on the localnet: the Stellar Asset Contract over contract data with TTLs.

The network runs no WASM: the only contracts are Stellar Asset Contracts
(SACs) of classic assets and XLM, deployed with createContract from an asset,
as the real network deploys them. What a client sees is the real network's:

- the SAC's contract id is the one derived from the asset (HashIDPreimage
  ENVELOPE_TYPE_CONTRACT_ID, FROM_ASSET), its instance entry holds a
  STELLAR_ASSET executable;
- a contract's balance is the contract data entry the real SAC writes:
  key ``Vec[Symbol("Balance"), Address(holder)]``, persistent, value
  ``Map{amount: i128, authorized: bool, clawback: bool}``; a G… holder's balance
  is its classic trustline (or its account for XLM);
- ``transfer(from, to, amount)`` requires ``from``'s authorization, moves the
  balance, and emits the event ``["transfer", from, to, "CODE:ISSUER"|"native"]``
  with the i128 amount as data; the SAC's errors are its contract errors
  (``Error(Contract, #10)`` for a balance too low, ``#13`` for a missing
  trustline, ``#11`` for a deauthorized balance);
- every contract data entry has a TTL; a persistent entry past it is archived
  and must be restored with RestoreFootprint before any transaction reads it;
- the resource fee follows the shape of the network's fee schedule (per
  instruction, per entry read and written, per byte read and written, per
  byte of transaction and events, rent for new entries).

Execution runs in two modes over the same code: recording (simulation: the
footprint and the required authorizations are collected) and enforcing
(apply: every entry touched must be in the footprint, every authorization
must be given).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from stellar_sdk import Address, StrKey
from stellar_sdk import scval as V
from stellar_sdk import xdr as X

# ---- network settings (pubnet's kinds of settings, with pubnet-like values) --------

MIN_PERSISTENT_TTL = 120_960  # ledgers a new persistent entry lives (7 days)
MIN_TEMPORARY_TTL = 16
MAX_ENTRY_TTL = 3_110_400

# per-transaction and per-ledger Soroban limits ("contract execution lanes")
TX_MAX_INSTRUCTIONS = 100_000_000
TX_MAX_READ_ENTRIES = 40
TX_MAX_WRITE_ENTRIES = 25
TX_MAX_READ_BYTES = 200_000
TX_MAX_WRITE_BYTES = 132_096

LEDGER_LIMITS = {
    "tx_count": 100,
    "instructions": 500_000_000,
    "read_entries": 200,
    "write_entries": 125,
    "read_bytes": 200_000,
    "write_bytes": 143_360,
}

# fee schedule (stroops)
FEE_PER_10K_INSTRUCTIONS = 25
FEE_READ_ENTRY = 6_250
FEE_WRITE_ENTRY = 10_000
FEE_READ_1KB = 1_786
FEE_WRITE_1KB = 11_800
FEE_HISTORICAL_1KB = 16_235
FEE_TX_SIZE_1KB = 1_624
FEE_EVENTS_1KB = 10_000
RENT_RATE_DENOMINATOR = 1_402  # persistent rent: write fee per KB * ledgers / this

# CPU instructions the host spends, per call (measured shapes, not per-opcode)
INSTRUCTIONS_BASE = 120_000
INSTRUCTIONS_PER_ENTRY = 45_000

# classic entry sizes in bytes, for read/write byte accounting
ACCOUNT_ENTRY_BYTES = 92
TRUSTLINE_ENTRY_BYTES = 112

# SAC contract errors (soroban-env-host's ContractError for the SAC)
ERR_NEGATIVE_AMOUNT = 8
ERR_BALANCE = 10
ERR_BALANCE_DEAUTHORIZED = 11
ERR_OVERFLOW = 12
ERR_TRUSTLINE_MISSING = 13
ERR_ACCOUNT_MISSING = 6

I128_MAX = 2**127 - 1
INT64_MAX = 2**63 - 1


class HostError(Exception):
    """A failed invocation: ``kind`` is the result code the apply reports."""

    def __init__(self, message: str, kind: str = "trapped"):
        super().__init__(message)
        self.message = message
        self.kind = kind  # trapped | archived | resource_limit


def contract_error(code: int) -> HostError:
    return HostError(f"HostError: Error(Contract, #{code})")


def asset_string(asset: tuple[str, str] | None) -> str:
    """The SAC's name for its asset (SEP-11)."""
    return "native" if asset is None else f"{asset[0]}:{asset[1]}"


def _sdk_asset_xdr(asset: tuple[str, str] | None) -> X.Asset:
    from stellar_sdk import Asset

    if asset is None:
        return Asset.native().to_xdr_object()
    return Asset(asset[0], asset[1]).to_xdr_object()


def contract_id_of(asset: tuple[str, str] | None, network_id: bytes) -> str:
    preimage = X.HashIDPreimage(
        X.EnvelopeType.ENVELOPE_TYPE_CONTRACT_ID,
        contract_id=X.HashIDPreimageContractID(
            network_id=X.Hash(network_id),
            contract_id_preimage=X.ContractIDPreimage(
                X.ContractIDPreimageType.CONTRACT_ID_PREIMAGE_FROM_ASSET,
                from_asset=_sdk_asset_xdr(asset),
            ),
        ),
    )
    return StrKey.encode_contract(hashlib.sha256(preimage.to_xdr_bytes()).digest())


# ---- ledger keys --------------------------------------------------------------------


def _sc_address(address: str) -> X.SCAddress:
    return Address(address).to_xdr_sc_address()


def instance_key(contract: str) -> X.LedgerKey:
    return X.LedgerKey(
        X.LedgerEntryType.CONTRACT_DATA,
        contract_data=X.LedgerKeyContractData(
            contract=_sc_address(contract),
            key=X.SCVal(X.SCValType.SCV_LEDGER_KEY_CONTRACT_INSTANCE),
            durability=X.ContractDataDurability.PERSISTENT,
        ),
    )


def balance_sc_key(holder: str) -> X.SCVal:
    return V.to_vec([V.to_symbol("Balance"), V.to_address(holder)])


def balance_key(contract: str, holder: str) -> X.LedgerKey:
    return X.LedgerKey(
        X.LedgerEntryType.CONTRACT_DATA,
        contract_data=X.LedgerKeyContractData(
            contract=_sc_address(contract),
            key=balance_sc_key(holder),
            durability=X.ContractDataDurability.PERSISTENT,
        ),
    )


def account_key(account_id: str) -> X.LedgerKey:
    from stellar_sdk import Keypair

    return X.LedgerKey(
        X.LedgerEntryType.ACCOUNT,
        account=X.LedgerKeyAccount(
            Keypair.from_public_key(account_id).xdr_account_id()
        ),
    )


def trustline_key(account_id: str, asset: tuple[str, str]) -> X.LedgerKey:
    from stellar_sdk import Asset, Keypair

    return X.LedgerKey(
        X.LedgerEntryType.TRUSTLINE,
        trust_line=X.LedgerKeyTrustLine(
            account_id=Keypair.from_public_key(account_id).xdr_account_id(),
            asset=Asset(asset[0], asset[1]).to_trust_line_asset_xdr_object(),
        ),
    )


def ttl_key_hash(key_bytes: bytes) -> bytes:
    return hashlib.sha256(key_bytes).digest()


class ContractEntry:
    """One contract data entry and its TTL."""

    __slots__ = ("asset", "key_xdr", "last_modified", "live_until", "value")

    def __init__(
        self,
        key_xdr: bytes,
        value: X.SCVal,
        live_until: int,
        last_modified: int,
        asset: tuple[str, str] | str | None = "",
    ):
        self.key_xdr = key_xdr
        self.value = value
        self.live_until = live_until
        self.last_modified = last_modified
        # an instance entry's asset ("" for a balance entry)
        self.asset = asset

    def copy(self) -> ContractEntry:
        return ContractEntry(
            self.key_xdr, self.value, self.live_until, self.last_modified, self.asset
        )

    def key(self) -> X.LedgerKey:
        return X.LedgerKey.from_xdr_bytes(self.key_xdr)

    def entry_data(self) -> X.LedgerEntryData:
        key = self.key().contract_data
        return X.LedgerEntryData(
            X.LedgerEntryType.CONTRACT_DATA,
            contract_data=X.ContractDataEntry(
                ext=X.ExtensionPoint(0),
                contract=key.contract,
                key=key.key,
                durability=key.durability,
                val=self.value,
            ),
        )

    def size(self) -> int:
        return len(self.entry_data().to_xdr_bytes()) + 12


def balance_value(amount: int, authorized: bool, clawback: bool) -> X.SCVal:
    return V.to_map(
        {
            V.to_symbol("amount"): V.to_int128(amount),
            V.to_symbol("authorized"): V.to_bool(authorized),
            V.to_symbol("clawback"): V.to_bool(clawback),
        }
    )


def read_balance(value: X.SCVal) -> tuple[int, bool, bool]:
    fields = {V.from_symbol(k): v for k, v in V.from_map(value).items()}
    return (
        V.from_int128(fields["amount"]),
        V.from_bool(fields["authorized"]),
        V.from_bool(fields["clawback"]),
    )


def instance_value(asset: tuple[str, str] | None) -> X.SCVal:
    """The SAC's instance: STELLAR_ASSET executable, its metadata in storage."""
    if asset is None:
        name, symbol = "native", "native"
    else:
        name, symbol = asset_string(asset), asset[0]
    storage = [
        X.SCMapEntry(
            V.to_symbol("METADATA"),
            V.to_map(
                {
                    V.to_symbol("decimal"): V.to_uint32(7),
                    V.to_symbol("name"): V.to_string(name),
                    V.to_symbol("symbol"): V.to_string(symbol),
                }
            ),
        ),
    ]
    instance = X.SCContractInstance(
        executable=X.ContractExecutable(
            X.ContractExecutableType.CONTRACT_EXECUTABLE_STELLAR_ASSET
        ),
        storage=X.SCMap(storage),
    )
    return X.SCVal(X.SCValType.SCV_CONTRACT_INSTANCE, instance=instance)


# ---- resources and fees --------------------------------------------------------------


@dataclass
class Resources:
    instructions: int = 0
    read_bytes: int = 0
    write_bytes: int = 0
    read_only: list[bytes] = field(default_factory=list)
    read_write: list[bytes] = field(default_factory=list)

    @property
    def read_entries(self) -> int:
        return len(self.read_only) + len(self.read_write)

    @property
    def write_entries(self) -> int:
        return len(self.read_write)


def _kb(size: int, rate: int) -> int:
    return -(-size * rate // 1024)


def resource_fee(
    res: Resources, tx_size: int, events_size: int, rent_bytes: int, rent_ledgers: int
) -> int:
    """The network's fee for these resources (non-refundable + refundable)."""
    fee = -(-res.instructions * FEE_PER_10K_INSTRUCTIONS // 10_000)
    fee += res.read_entries * FEE_READ_ENTRY + res.write_entries * FEE_WRITE_ENTRY
    fee += _kb(res.read_bytes, FEE_READ_1KB) + _kb(res.write_bytes, FEE_WRITE_1KB)
    fee += _kb(tx_size, FEE_HISTORICAL_1KB) + _kb(tx_size, FEE_TX_SIZE_1KB)
    fee += _kb(events_size, FEE_EVENTS_1KB)
    fee += -(
        -rent_bytes * rent_ledgers * FEE_WRITE_1KB // (1024 * RENT_RATE_DENOMINATOR)
    )
    return fee


def declared_resources(data: X.SorobanTransactionData) -> Resources:
    r = data.resources
    return Resources(
        instructions=r.instructions.uint32,
        read_bytes=r.disk_read_bytes.uint32,
        write_bytes=r.write_bytes.uint32,
        read_only=[k.to_xdr_bytes() for k in r.footprint.read_only],
        read_write=[k.to_xdr_bytes() for k in r.footprint.read_write],
    )


def minimum_fee(data: X.SorobanTransactionData, tx_size: int) -> int:
    """The least resource fee the declared resources cost (core's validation)."""
    return resource_fee(declared_resources(data), tx_size, 0, 0, 0)


def check_tx_limits(res: Resources) -> bool:
    return (
        res.instructions <= TX_MAX_INSTRUCTIONS
        and res.read_entries <= TX_MAX_READ_ENTRIES
        and res.write_entries <= TX_MAX_WRITE_ENTRIES
        and res.read_bytes <= TX_MAX_READ_BYTES
        and res.write_bytes <= TX_MAX_WRITE_BYTES
    )


# ---- the host ------------------------------------------------------------------------


class Host:
    """One invocation over the ledger.

    ``footprint`` None means recording (simulation); otherwise the sets of
    read-only and read-write keys the transaction declared. Contract data
    writes are buffered in ``writes`` and kept only by ``commit``.
    """

    def __init__(
        self,
        ledger,
        ledger_seq: int,
        source: str,
        footprint: tuple[set[bytes], set[bytes]] | None = None,
        auth: list[X.SorobanAuthorizationEntry] | None = None,
    ):
        self.ledger = ledger
        self.ledger_seq = ledger_seq
        self.source = source
        self.footprint = footprint
        self.given_auth = auth or []
        self.read_only: dict[bytes, None] = {}
        self.read_write: dict[bytes, None] = {}
        self.read_bytes = 0
        self.write_bytes = 0
        self.rent_bytes = 0
        self.writes: dict[bytes, ContractEntry] = {}
        self.classic: list = []  # (kind, args) changes applied at commit
        self.events: list[X.ContractEvent] = []
        self.required_auth: list[X.SorobanAuthorizationEntry] = []
        self.archived: list[bytes] = []
        self.recording = footprint is None
        self.current_contract = ""

    # -- footprint ------------------------------------------------------------------

    def _touch(self, key: bytes, write: bool, size: int) -> None:
        if self.footprint is not None:
            ro, rw = self.footprint
            if write and key not in rw:
                raise HostError(
                    "HostError: Error(Storage, ExceededLimit) "
                    "(write outside the footprint)"
                )
            if not write and key not in rw and key not in ro:
                raise HostError(
                    "HostError: Error(Storage, ExceededLimit) "
                    "(read outside the footprint)"
                )
        if write:
            self.read_only.pop(key, None)
            if key not in self.read_write:
                self.read_write[key] = None
                self.read_bytes += size
        elif key not in self.read_write and key not in self.read_only:
            self.read_only[key] = None
            self.read_bytes += size

    def entry(self, key: X.LedgerKey, write: bool) -> ContractEntry | None:
        raw = key.to_xdr_bytes()
        if raw in self.writes:
            return self.writes[raw]
        current = self.ledger.contract_data.get(raw)
        self._touch(raw, write, current.size() if current is not None else 0)
        if current is not None and current.live_until < self.ledger_seq:
            self.archived.append(raw)
            if not self.recording:
                raise HostError(
                    "HostError: Error(Storage, InternalError) (entry archived)",
                    "archived",
                )
        return current

    def put(self, key: X.LedgerKey, value: X.SCVal, asset="") -> None:
        raw = key.to_xdr_bytes()
        existing = self.writes.get(raw) or self.ledger.contract_data.get(raw)
        if existing is None:
            live_until = self.ledger_seq + self.ledger.persistent_ttl - 1
            new = ContractEntry(raw, value, live_until, self.ledger_seq, asset)
            self.rent_bytes += new.size()
        else:
            new = ContractEntry(
                raw, value, existing.live_until, self.ledger_seq, existing.asset
            )
        self._touch(raw, True, 0)
        self.write_bytes += new.size()
        self.writes[raw] = new

    def classic_entry(self, key: X.LedgerKey, write: bool, size: int) -> None:
        raw = key.to_xdr_bytes()
        self._touch(raw, write, size)
        if write:
            self.write_bytes += size

    # -- authorization --------------------------------------------------------------

    def require_auth(self, address: str, function: str, args: list[X.SCVal]) -> None:
        invocation = X.SorobanAuthorizedInvocation(
            function=X.SorobanAuthorizedFunction(
                X.SorobanAuthorizedFunctionType.SOROBAN_AUTHORIZED_FUNCTION_TYPE_CONTRACT_FN,
                contract_fn=X.InvokeContractArgs(
                    contract_address=_sc_address(self.current_contract),
                    function_name=X.SCSymbol(function.encode()),
                    args=args,
                ),
            ),
            sub_invocations=[],
        )
        if self.recording:
            if address != self.source:
                # the only signer this network knows how to simulate for is the
                # transaction's source account (no nonce, no signature)
                raise HostError(
                    "HostError: Error(Auth, InvalidAction) "
                    "(only the source account's authorization is supported)"
                )
            self.required_auth.append(
                X.SorobanAuthorizationEntry(
                    credentials=X.SorobanCredentials(
                        X.SorobanCredentialsType.SOROBAN_CREDENTIALS_SOURCE_ACCOUNT
                    ),
                    root_invocation=invocation,
                )
            )
            return
        wanted = invocation.to_xdr_bytes()
        for entry in self.given_auth:
            creds = entry.credentials.type
            if (
                creds == X.SorobanCredentialsType.SOROBAN_CREDENTIALS_SOURCE_ACCOUNT
                and address == self.source
                and entry.root_invocation.to_xdr_bytes() == wanted
            ):
                return
        raise HostError("HostError: Error(Auth, InvalidAction)")

    # -- commit -----------------------------------------------------------------------

    def commit(self) -> None:
        for raw, new in self.writes.items():
            self.ledger.put_contract_entry(raw, new)
        for change in self.classic:
            change()

    def resources(self) -> Resources:
        instructions = INSTRUCTIONS_BASE + INSTRUCTIONS_PER_ENTRY * (
            len(self.read_only) + len(self.read_write)
        )
        return Resources(
            instructions=instructions,
            read_bytes=self.read_bytes,
            write_bytes=self.write_bytes,
            read_only=sorted(self.read_only),
            read_write=sorted(self.read_write),
        )

    def events_size(self) -> int:
        return sum(len(e.to_xdr_bytes()) for e in self.events)

    # -- host functions -----------------------------------------------------------------

    def run(self, host_function: X.HostFunction) -> X.SCVal:
        kind = host_function.type
        if kind == X.HostFunctionType.HOST_FUNCTION_TYPE_INVOKE_CONTRACT:
            args = host_function.invoke_contract
            contract = Address.from_xdr_sc_address(args.contract_address).address
            name = args.function_name.sc_symbol.decode()
            return self.invoke(contract, name, list(args.args))
        if kind in (
            X.HostFunctionType.HOST_FUNCTION_TYPE_CREATE_CONTRACT,
            X.HostFunctionType.HOST_FUNCTION_TYPE_CREATE_CONTRACT_V2,
        ):
            create = (
                host_function.create_contract
                if kind == X.HostFunctionType.HOST_FUNCTION_TYPE_CREATE_CONTRACT
                else host_function.create_contract_v2
            )
            preimage = create.contract_id_preimage
            if (
                preimage.type
                != X.ContractIDPreimageType.CONTRACT_ID_PREIMAGE_FROM_ASSET
            ):
                raise HostError(
                    "HostError: Error(Context, InvalidAction) "
                    "(this network deploys Stellar Asset Contracts only)"
                )
            from localnet.envelope import asset_of

            asset = asset_of(preimage.from_asset)
            return self.deploy(asset)
        raise HostError(
            "HostError: Error(Context, InvalidAction) (WASM uploads are not supported)"
        )

    def deploy(self, asset: tuple[str, str] | None) -> X.SCVal:
        contract = contract_id_of(asset, self.ledger.network_id)
        self.current_contract = contract
        if asset is not None and asset[1] not in self.ledger.accounts:
            raise HostError("HostError: Error(Contract, #6)")
        key = instance_key(contract)
        if self.entry(key, True) is not None:
            raise HostError(
                "HostError: Error(Storage, ExistingValue) (contract already exists)"
            )
        self.put(key, instance_value(asset), asset=asset)
        return V.to_address(contract)

    def _sac(self, contract: str) -> tuple[str, str] | None:
        self.current_contract = contract
        instance = self.entry(instance_key(contract), False)
        if instance is None:
            raise HostError(
                "HostError: Error(Storage, MissingValue) (contract instance not found)"
            )
        return instance.asset  # type: ignore[return-value]

    def invoke(self, contract: str, name: str, args: list[X.SCVal]) -> X.SCVal:
        asset = self._sac(contract)
        if name == "transfer":
            if len(args) != 3:
                raise HostError("HostError: Error(Context, UnexpectedSize)")
            sender = V.from_address(args[0]).address
            receiver = V.from_address(args[1]).address
            amount = V.from_int128(args[2])
            self.require_auth(sender, "transfer", args)
            self.transfer(asset, sender, receiver, amount)
            return V.to_void()
        if name == "balance":
            holder = V.from_address(args[0]).address
            return V.to_int128(self.balance(asset, holder))
        if name == "decimals":
            return V.to_uint32(7)
        if name in ("name", "symbol"):
            text = (
                asset_string(asset)
                if name == "name"
                else ("native" if asset is None else asset[0])
            )
            return V.to_string(text)
        raise HostError(
            f"HostError: Error(Context, MissingValue) (no function {name!r})"
        )

    # -- the SAC -------------------------------------------------------------------------

    def balance(self, asset, holder: str) -> int:
        ledger = self.ledger
        if holder.startswith("C"):
            entry = self.entry(balance_key(self.current_contract, holder), False)
            return 0 if entry is None else read_balance(entry.value)[0]
        if asset is None:
            self.classic_entry(account_key(holder), False, ACCOUNT_ENTRY_BYTES)
            acc = ledger.accounts.get(holder)
            if acc is None:
                raise contract_error(ERR_ACCOUNT_MISSING)
            return max(0, ledger.available_balance(acc))
        if holder == asset[1]:
            self.classic_entry(account_key(holder), False, ACCOUNT_ENTRY_BYTES)
            return INT64_MAX
        self.classic_entry(trustline_key(holder, asset), False, TRUSTLINE_ENTRY_BYTES)
        line = ledger.trustline(holder, asset)
        if line is None:
            raise contract_error(ERR_TRUSTLINE_MISSING)
        return line.balance

    def transfer(self, asset, sender: str, receiver: str, amount: int) -> None:
        if amount < 0:
            raise contract_error(ERR_NEGATIVE_AMOUNT)
        self._spend(asset, sender, amount)
        self._receive(asset, receiver, amount)
        self.events.append(
            X.ContractEvent(
                ext=X.ExtensionPoint(0),
                contract_id=X.ContractID(
                    X.Hash(StrKey.decode_contract(self.current_contract))
                ),
                type=X.ContractEventType.CONTRACT,
                body=X.ContractEventBody(
                    0,
                    v0=X.ContractEventV0(
                        topics=[
                            V.to_symbol("transfer"),
                            V.to_address(sender),
                            V.to_address(receiver),
                            V.to_string(asset_string(asset)),
                        ],
                        data=V.to_int128(amount),
                    ),
                ),
            )
        )

    def _classic_change(self, asset, holder: str, delta: int) -> None:
        ledger = self.ledger

        def apply() -> None:
            if asset is None:
                ledger.account_mut(holder).balance += delta
            else:
                ledger.trustline_mut(holder, asset).balance += delta

        self.classic.append(apply)

    def _spend(self, asset, holder: str, amount: int) -> None:
        ledger = self.ledger
        if holder.startswith("C"):
            key = balance_key(self.current_contract, holder)
            entry = self.entry(key, True)
            if entry is None:
                raise contract_error(ERR_BALANCE)
            have, authorized, clawback = read_balance(entry.value)
            if not authorized:
                raise contract_error(ERR_BALANCE_DEAUTHORIZED)
            if have < amount:
                raise contract_error(ERR_BALANCE)
            self.put(key, balance_value(have - amount, authorized, clawback))
            return
        if asset is None:
            self.classic_entry(account_key(holder), True, ACCOUNT_ENTRY_BYTES)
            acc = ledger.accounts.get(holder)
            if acc is None:
                raise contract_error(ERR_ACCOUNT_MISSING)
            if ledger.available_balance(acc) < amount:
                raise contract_error(ERR_BALANCE)
            self._classic_change(None, holder, -amount)
            return
        if holder == asset[1]:  # the issuer mints
            self.classic_entry(account_key(holder), False, ACCOUNT_ENTRY_BYTES)
            return
        self.classic_entry(trustline_key(holder, asset), True, TRUSTLINE_ENTRY_BYTES)
        line = ledger.trustline(holder, asset)
        if line is None:
            raise contract_error(ERR_TRUSTLINE_MISSING)
        if not line.flags & 0x1:
            raise contract_error(ERR_BALANCE_DEAUTHORIZED)
        if line.balance < amount:
            raise contract_error(ERR_BALANCE)
        self._classic_change(asset, holder, -amount)

    def _receive(self, asset, holder: str, amount: int) -> None:
        ledger = self.ledger
        if holder.startswith("C"):
            key = balance_key(self.current_contract, holder)
            entry = self.entry(key, True)
            if entry is None:
                # a new contract balance is authorized unless the issuer
                # requires authorization (AUTH_REQUIRED); clawback follows
                # the issuer's AUTH_CLAWBACK_ENABLED
                issuer = None
                if asset is not None:
                    self.classic_entry(
                        account_key(asset[1]), False, ACCOUNT_ENTRY_BYTES
                    )
                    issuer = ledger.accounts.get(asset[1])
                flags = issuer.flags if issuer is not None else 0
                have, authorized, clawback = 0, not flags & 0x1, bool(flags & 0x8)
            else:
                have, authorized, clawback = read_balance(entry.value)
            if not authorized:
                raise contract_error(ERR_BALANCE_DEAUTHORIZED)
            if have + amount > I128_MAX:
                raise contract_error(ERR_OVERFLOW)
            self.put(key, balance_value(have + amount, authorized, clawback))
            return
        if asset is None:
            self.classic_entry(account_key(holder), True, ACCOUNT_ENTRY_BYTES)
            acc = ledger.accounts.get(holder)
            if acc is None:
                raise contract_error(ERR_ACCOUNT_MISSING)
            if acc.balance + amount > INT64_MAX:
                raise contract_error(ERR_BALANCE)
            self._classic_change(None, holder, amount)
            return
        if holder == asset[1]:  # the issuer burns
            self.classic_entry(account_key(holder), False, ACCOUNT_ENTRY_BYTES)
            return
        self.classic_entry(trustline_key(holder, asset), True, TRUSTLINE_ENTRY_BYTES)
        line = ledger.trustline(holder, asset)
        if line is None:
            raise contract_error(ERR_TRUSTLINE_MISSING)
        if not line.flags & 0x1:
            raise contract_error(ERR_BALANCE_DEAUTHORIZED)
        if line.balance + amount > line.limit:
            raise contract_error(ERR_BALANCE)
        self._classic_change(asset, holder, amount)


def restore(ledger, keys: list[bytes], ledger_seq: int) -> int:
    """RestoreFootprint: archived persistent entries live again. Returns the
    number of bytes restored (the rent the restore pays for)."""
    restored = 0
    for raw in keys:
        entry = ledger.contract_data.get(raw)
        if entry is not None and entry.live_until < ledger_seq:
            new = entry.copy()
            new.live_until = ledger_seq + ledger.persistent_ttl - 1
            new.last_modified = ledger_seq
            ledger.put_contract_entry(raw, new)
            restored += new.size()
    return restored


def extend_ttl(ledger, keys: list[bytes], ledger_seq: int, extend_to: int) -> None:
    for raw in keys:
        entry = ledger.contract_data.get(raw)
        if entry is None or entry.live_until < ledger_seq:
            continue
        wanted = min(ledger_seq + extend_to, ledger_seq + MAX_ENTRY_TTL - 1)
        if entry.live_until < wanted:
            new = entry.copy()
            new.live_until = wanted
            ledger.put_contract_entry(raw, new)


def entry_from_state(
    key_xdr: bytes, value_xdr: str, live_until: int, last_modified: int
) -> ContractEntry:
    """A contract data entry read back from the state file."""
    value = X.SCVal.from_xdr(value_xdr)
    asset: tuple[str, str] | str | None = ""
    if value.type == X.SCValType.SCV_CONTRACT_INSTANCE:
        asset = _instance_asset(value)
    return ContractEntry(key_xdr, value, live_until, last_modified, asset)


def _instance_asset(value: X.SCVal) -> tuple[str, str] | None:
    storage = value.instance.storage.sc_map if value.instance.storage else []
    for item in storage:
        if V.from_symbol(item.key) == "METADATA":
            fields = {V.from_symbol(k): v for k, v in V.from_map(item.val).items()}
            name = V.from_string(fields["name"]).decode()
            if name == "native":
                return None
            code, issuer = name.split(":", 1)
            return (code, issuer)
    return None


def native_in_contracts(ledger) -> int:
    """XLM held by contracts (balances of the native asset's contract)."""
    if not ledger.contract_data:
        return 0
    native = _sc_address(contract_id_of(None, ledger.network_id)).to_xdr_bytes()
    total = 0
    for entry in ledger.contract_data.values():
        if entry.asset != "":
            continue
        key = entry.key().contract_data
        if key.contract.to_xdr_bytes() == native:
            total += read_balance(entry.value)[0]
    return total
