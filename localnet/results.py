"""TransactionResult XDR, encoded with stellar-sdk's XDR classes."""

from __future__ import annotations

from stellar_sdk import xdr as X

from localnet import codes as C
from localnet.ledger import OpResult, TxResult

# operation type -> (OperationResultTr argument, result class, code enum)
_ARMS = {
    C.CREATE_ACCOUNT: (
        "create_account_result",
        X.CreateAccountResult,
        X.CreateAccountResultCode,
    ),
    C.PAYMENT: ("payment_result", X.PaymentResult, X.PaymentResultCode),
    C.SET_OPTIONS: ("set_options_result", X.SetOptionsResult, X.SetOptionsResultCode),
    C.CHANGE_TRUST: (
        "change_trust_result",
        X.ChangeTrustResult,
        X.ChangeTrustResultCode,
    ),
    C.ACCOUNT_MERGE: (
        "account_merge_result",
        X.AccountMergeResult,
        X.AccountMergeResultCode,
    ),
    C.MANAGE_DATA: ("manage_data_result", X.ManageDataResult, X.ManageDataResultCode),
    C.BUMP_SEQUENCE: (
        "bump_seq_result",
        X.BumpSequenceResult,
        X.BumpSequenceResultCode,
    ),
    C.BEGIN_SPONSORING_FUTURE_RESERVES: (
        "begin_sponsoring_future_reserves_result",
        X.BeginSponsoringFutureReservesResult,
        X.BeginSponsoringFutureReservesResultCode,
    ),
    C.END_SPONSORING_FUTURE_RESERVES: (
        "end_sponsoring_future_reserves_result",
        X.EndSponsoringFutureReservesResult,
        X.EndSponsoringFutureReservesResultCode,
    ),
    C.REVOKE_SPONSORSHIP: (
        "revoke_sponsorship_result",
        X.RevokeSponsorshipResult,
        X.RevokeSponsorshipResultCode,
    ),
    C.SET_TRUST_LINE_FLAGS: (
        "set_trust_line_flags_result",
        X.SetTrustLineFlagsResult,
        X.SetTrustLineFlagsResultCode,
    ),
    C.INVOKE_HOST_FUNCTION: (
        "invoke_host_function_result",
        X.InvokeHostFunctionResult,
        X.InvokeHostFunctionResultCode,
    ),
    C.EXTEND_FOOTPRINT_TTL: (
        "extend_footprint_ttl_result",
        X.ExtendFootprintTTLResult,
        X.ExtendFootprintTTLResultCode,
    ),
    C.RESTORE_FOOTPRINT: (
        "restore_footprint_result",
        X.RestoreFootprintResult,
        X.RestoreFootprintResultCode,
    ),
}

_TX_CODES_WITH_RESULTS = (C.TX_SUCCESS, C.TX_FAILED)


def _operation_result(result: OpResult) -> X.OperationResult:
    if result.outer != C.OP_INNER:
        return X.OperationResult(code=X.OperationResultCode(result.outer))
    arm, cls, code_enum = _ARMS[result.type]
    if result.type == C.ACCOUNT_MERGE and result.code == 0:
        inner = cls(
            code=code_enum(0), source_account_balance=X.Int64(result.merged_balance)
        )
    elif result.type == C.INVOKE_HOST_FUNCTION and result.code == 0:
        success = result.soroban.success_hash if result.soroban is not None else b""
        inner = cls(code=code_enum(0), success=X.Hash(success.ljust(32, b"\0")))
    else:
        inner = cls(code=code_enum(result.code))
    tr = X.OperationResultTr(type=X.OperationType(result.type), **{arm: inner})
    return X.OperationResult(code=X.OperationResultCode.opINNER, tr=tr)


def _op_results(result: TxResult) -> list | None:
    if result.code in _TX_CODES_WITH_RESULTS:
        return [_operation_result(r) for r in result.op_results or []]
    return None


def transaction_result(result: TxResult) -> X.TransactionResult:
    code = X.TransactionResultCode(result.code)
    if result.inner is not None:
        inner = result.inner
        inner_result = X.InnerTransactionResult(
            fee_charged=X.Int64(inner.fee_charged),
            result=X.InnerTransactionResultResult(
                code=X.TransactionResultCode(inner.code), results=_op_results(inner)
            ),
            ext=X.InnerTransactionResultExt(0),
        )
        body = X.TransactionResultResult(
            code=code,
            inner_result_pair=X.InnerTransactionResultPair(
                transaction_hash=X.Hash(result.inner_hash), result=inner_result
            ),
        )
    else:
        body = X.TransactionResultResult(code=code, results=_op_results(result))
    return X.TransactionResult(
        fee_charged=X.Int64(result.fee_charged),
        result=body,
        ext=X.TransactionResultExt(0),
    )


def result_xdr(result: TxResult) -> str:
    """Base64 TransactionResult, as Horizon's `result_xdr`."""
    return transaction_result(result).to_xdr()
