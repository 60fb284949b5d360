"""Reading transaction results: Horizon's code names, a readable reason, and the
class of an error (transient, waiting on the receiver, final)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from stellar_sdk import xdr

# Failures that depend on the receiver's account: the payment fails with a
# readable reason, and a retry works once the receiver has fixed it.
RECEIVER_CODES = {
    "op_no_destination": "the receiver's Stellar account does not exist",
    "op_no_trust": "the receiver's account has no trustline for the asset",
    "op_not_authorized": "the receiver is not authorized to hold the asset",
    "op_line_full": "the receiver's trustline limit is too low for the amount",
}
# Final failures (SDP's definitive list): retrying the same thing fails again.
FINAL_CODES = {
    "tx_bad_auth": "the transaction's signatures are not valid",
    "tx_bad_auth_extra": "the transaction has unused signatures",
    "tx_insufficient_balance": "the distribution account cannot pay the fee",
    "op_bad_auth": "the distribution account's signature is not valid",
    "op_underfunded": "the distribution account's balance is too low",
    "op_src_not_authorized": "the distribution account is not authorized to "
    "send the asset",
    "op_src_no_trust": "the distribution account has no trustline for the asset",
    "op_no_issuer": "the asset's issuer does not exist",
    "op_malformed": "the payment is malformed",
    "op_not_supported": "the network does not support this operation",
    "op_low_reserve": "the account would go below its minimum balance",
    "tx_no_source_account": "the channel account does not exist",
    "tx_no_account": "the channel account does not exist",
    # Soroban (payments to contract accounts)
    "tx_soroban_invalid": "the contract call's declared resources or resource fee "
    "are not valid",
    "op_trapped": "the asset's contract refused the transfer",
    "op_entry_archived": "a ledger entry the transfer needs was archived "
    "(it was restored and the transfer retried, and it failed again)",
    "op_resource_limit_exceeded": "the contract call needed more resources than "
    "declared",
    "op_insufficient_refundable_fee": "the contract call's resource fee was too low",
}
# Transient: the envelope did not land; build a new one (after its bound) later.
TRANSIENT_CODES = {
    "tx_bad_seq",
    "tx_too_late",
    "tx_too_early",
    "tx_insufficient_fee",
    "tx_internal_error",
}


def _tx_code(code: xdr.TransactionResultCode) -> str:
    name = code.name  # e.g. txBAD_SEQ
    return "tx_" + name[2:].lower()


_OP_PREFIXES = (
    "CREATE_ACCOUNT_",
    "PAYMENT_",
    "CHANGE_TRUST_",
    "SET_OPTIONS_",
    "ACCOUNT_MERGE_",
    "MANAGE_DATA_",
    "BEGIN_SPONSORING_FUTURE_RESERVES_",
    "END_SPONSORING_FUTURE_RESERVES_",
    "REVOKE_SPONSORSHIP_",
    "SET_TRUST_LINE_FLAGS_",
    "INVOKE_HOST_FUNCTION_",
    "EXTEND_FOOTPRINT_TTL_",
    "RESTORE_FOOTPRINT_",
)
_OP_RENAMES = {
    "op_already_exist": "op_already_exists",
    "op_no_account": "op_no_source_account",
}


def _op_code(result: xdr.OperationResult) -> str:
    if result.code != xdr.OperationResultCode.opINNER:
        name = "op_" + result.code.name[2:].lower()
        return _OP_RENAMES.get(name, name)
    tr = result.tr
    for attr, value in vars(tr).items():
        if attr == "type" or value is None:
            continue
        name = value.code.name
        for prefix in _OP_PREFIXES:
            if name.startswith(prefix):
                name = name[len(prefix) :]
                break
        if name == "SUCCESS":
            return "op_success"
        code = "op_" + name.lower()
        return str(_OP_RENAMES.get(code, code))
    return "op_unknown"


@dataclass(frozen=True)
class ResultCodes:
    transaction: str
    operations: list[str] = field(default_factory=list)

    @property
    def successful(self) -> bool:
        return self.transaction in ("tx_success", "tx_fee_bump_inner_success")

    def failing_codes(self) -> list[str]:
        return [c for c in self.operations if c != "op_success"] or [self.transaction]

    def for_operation(self, index: int) -> ResultCodes | None:
        """The codes as they concern operation ``index`` of the transaction:
        None when that operation succeeded and another failed (nothing applied;
        the payment itself is fine), the transaction's own code when it failed
        before its operations ran."""
        if not self.operations:
            return ResultCodes(self.transaction)
        own = self.operations[index] if index < len(self.operations) else ""
        if own == "op_success":
            if any(code != "op_success" for code in self.operations):
                return None
            return ResultCodes(self.transaction)
        return ResultCodes(self.transaction, [own or "op_unknown"])

    @property
    def archived(self) -> bool:
        """Failed because an entry the contract call needs was archived after
        its simulation: built again, the entry restored first."""
        return "op_entry_archived" in self.failing_codes()

    def kind(self) -> str:
        """transient, receiver or final."""
        codes = self.failing_codes()
        if any(code in RECEIVER_CODES for code in codes):
            return "receiver"
        if any(code in FINAL_CODES for code in codes):
            return "final"
        if all(code in TRANSIENT_CODES for code in codes):
            return "transient"
        return "final"

    def reason(self) -> str:
        codes = self.failing_codes()
        texts = [RECEIVER_CODES.get(c) or FINAL_CODES.get(c) or c for c in codes]
        return "; ".join(texts) + f" ({', '.join(codes)})"


def parse_result_xdr(result_xdr: str) -> ResultCodes:
    result = xdr.TransactionResult.from_xdr(result_xdr).result
    code = result.code
    if code in (
        xdr.TransactionResultCode.txFEE_BUMP_INNER_SUCCESS,
        xdr.TransactionResultCode.txFEE_BUMP_INNER_FAILED,
    ):
        # A fee bump's result always carries its inner pair.
        pair = cast("xdr.InnerTransactionResultPair", result.inner_result_pair)
        inner = pair.result.result
        return ResultCodes(
            _tx_code(inner.code), [_op_code(op) for op in inner.results or []]
        )
    return ResultCodes(_tx_code(code), [_op_code(op) for op in result.results or []])


def describe_result_xdr(result_xdr: str) -> str:
    if not result_xdr:
        return "the network refused the transaction"
    try:
        return parse_result_xdr(result_xdr).reason()
    except Exception:
        return "the network refused the transaction (unreadable result)"
