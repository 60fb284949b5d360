"""Result codes of stellar-core and the strings Horizon shows for them.

The integer values are those of the Stellar XDR (``Stellar-transaction.x``);
the strings are the ones Horizon puts in ``extras.result_codes``.
"""

# Transaction result codes.
TX_FEE_BUMP_INNER_SUCCESS = 1
TX_SUCCESS = 0
TX_FAILED = -1
TX_TOO_EARLY = -2
TX_TOO_LATE = -3
TX_MISSING_OPERATION = -4
TX_BAD_SEQ = -5
TX_BAD_AUTH = -6
TX_INSUFFICIENT_BALANCE = -7
TX_NO_ACCOUNT = -8
TX_INSUFFICIENT_FEE = -9
TX_BAD_AUTH_EXTRA = -10
TX_INTERNAL_ERROR = -11
TX_NOT_SUPPORTED = -12
TX_FEE_BUMP_INNER_FAILED = -13
TX_BAD_SPONSORSHIP = -14
TX_BAD_MIN_SEQ_AGE_OR_GAP = -15
TX_MALFORMED = -16
TX_SOROBAN_INVALID = -17

TX_CODE_NAMES = {
    TX_FEE_BUMP_INNER_SUCCESS: "tx_fee_bump_inner_success",
    TX_SUCCESS: "tx_success",
    TX_FAILED: "tx_failed",
    TX_TOO_EARLY: "tx_too_early",
    TX_TOO_LATE: "tx_too_late",
    TX_MISSING_OPERATION: "tx_missing_operation",
    TX_BAD_SEQ: "tx_bad_seq",
    TX_BAD_AUTH: "tx_bad_auth",
    TX_INSUFFICIENT_BALANCE: "tx_insufficient_balance",
    TX_NO_ACCOUNT: "tx_no_source_account",
    TX_INSUFFICIENT_FEE: "tx_insufficient_fee",
    TX_BAD_AUTH_EXTRA: "tx_bad_auth_extra",
    TX_INTERNAL_ERROR: "tx_internal_error",
    TX_NOT_SUPPORTED: "tx_not_supported",
    TX_FEE_BUMP_INNER_FAILED: "tx_fee_bump_inner_failed",
    TX_BAD_SPONSORSHIP: "tx_bad_sponsorship",
    TX_BAD_MIN_SEQ_AGE_OR_GAP: "tx_bad_minseq_age_or_gap",
    TX_MALFORMED: "tx_malformed",
    TX_SOROBAN_INVALID: "tx_soroban_invalid",
}

# Outer operation result codes (OperationResultCode).
OP_INNER = 0
OP_BAD_AUTH = -1
OP_NO_ACCOUNT = -2
OP_NOT_SUPPORTED = -3
OP_TOO_MANY_SUBENTRIES = -4
OP_EXCEEDED_WORK_LIMIT = -5
OP_TOO_MANY_SPONSORING = -6

OP_OUTER_NAMES = {
    OP_BAD_AUTH: "op_bad_auth",
    OP_NO_ACCOUNT: "op_no_source_account",
    OP_NOT_SUPPORTED: "op_not_supported",
    OP_TOO_MANY_SUBENTRIES: "op_too_many_subentries",
    OP_EXCEEDED_WORK_LIMIT: "op_exceeded_work_limit",
    OP_TOO_MANY_SPONSORING: "op_too_many_sponsoring",
}

# Operation types.
CREATE_ACCOUNT = 0
PAYMENT = 1
PATH_PAYMENT_STRICT_RECEIVE = 2
SET_OPTIONS = 5
CHANGE_TRUST = 6
ALLOW_TRUST = 7
ACCOUNT_MERGE = 8
MANAGE_DATA = 10
BUMP_SEQUENCE = 11
PATH_PAYMENT_STRICT_SEND = 13
BEGIN_SPONSORING_FUTURE_RESERVES = 16
END_SPONSORING_FUTURE_RESERVES = 17
REVOKE_SPONSORSHIP = 18
SET_TRUST_LINE_FLAGS = 21
INVOKE_HOST_FUNCTION = 24
EXTEND_FOOTPRINT_TTL = 25
RESTORE_FOOTPRINT = 26
SOROBAN_OPERATIONS = frozenset(
    {INVOKE_HOST_FUNCTION, EXTEND_FOOTPRINT_TTL, RESTORE_FOOTPRINT}
)

SUPPORTED_OPERATIONS = frozenset(
    {
        CREATE_ACCOUNT,
        PAYMENT,
        SET_OPTIONS,
        CHANGE_TRUST,
        ACCOUNT_MERGE,
        MANAGE_DATA,
        BUMP_SEQUENCE,
        BEGIN_SPONSORING_FUTURE_RESERVES,
        END_SPONSORING_FUTURE_RESERVES,
        REVOKE_SPONSORSHIP,
        SET_TRUST_LINE_FLAGS,
        INVOKE_HOST_FUNCTION,
        EXTEND_FOOTPRINT_TTL,
        RESTORE_FOOTPRINT,
    }
)

# Horizon's operation type names (type_i -> type).
OPERATION_TYPE_NAMES = {
    0: "create_account",
    1: "payment",
    2: "path_payment_strict_receive",
    3: "manage_sell_offer",
    4: "create_passive_sell_offer",
    5: "set_options",
    6: "change_trust",
    7: "allow_trust",
    8: "account_merge",
    9: "inflation",
    10: "manage_data",
    11: "bump_sequence",
    12: "manage_buy_offer",
    13: "path_payment_strict_send",
    14: "create_claimable_balance",
    15: "claim_claimable_balance",
    16: "begin_sponsoring_future_reserves",
    17: "end_sponsoring_future_reserves",
    18: "revoke_sponsorship",
    19: "clawback",
    20: "clawback_claimable_balance",
    21: "set_trust_line_flags",
    22: "liquidity_pool_deposit",
    23: "liquidity_pool_withdraw",
    24: "invoke_host_function",
    25: "extend_footprint_ttl",
    26: "restore_footprint",
}

# Inner result codes, per operation type. 0 is success for all of them.
SUCCESS = 0

CREATE_ACCOUNT_MALFORMED = -1
CREATE_ACCOUNT_UNDERFUNDED = -2
CREATE_ACCOUNT_LOW_RESERVE = -3
CREATE_ACCOUNT_ALREADY_EXIST = -4

PAYMENT_MALFORMED = -1
PAYMENT_UNDERFUNDED = -2
PAYMENT_SRC_NO_TRUST = -3
PAYMENT_SRC_NOT_AUTHORIZED = -4
PAYMENT_NO_DESTINATION = -5
PAYMENT_NO_TRUST = -6
PAYMENT_NOT_AUTHORIZED = -7
PAYMENT_LINE_FULL = -8
PAYMENT_NO_ISSUER = -9

SET_OPTIONS_LOW_RESERVE = -1
SET_OPTIONS_TOO_MANY_SIGNERS = -2
SET_OPTIONS_BAD_FLAGS = -3
SET_OPTIONS_INVALID_INFLATION = -4
SET_OPTIONS_CANT_CHANGE = -5
SET_OPTIONS_UNKNOWN_FLAG = -6
SET_OPTIONS_THRESHOLD_OUT_OF_RANGE = -7
SET_OPTIONS_BAD_SIGNER = -8
SET_OPTIONS_INVALID_HOME_DOMAIN = -9
SET_OPTIONS_AUTH_REVOCABLE_REQUIRED = -10

CHANGE_TRUST_MALFORMED = -1
CHANGE_TRUST_NO_ISSUER = -2
CHANGE_TRUST_INVALID_LIMIT = -3
CHANGE_TRUST_LOW_RESERVE = -4
CHANGE_TRUST_SELF_NOT_ALLOWED = -5

ACCOUNT_MERGE_MALFORMED = -1
ACCOUNT_MERGE_NO_ACCOUNT = -2
ACCOUNT_MERGE_IMMUTABLE_SET = -3
ACCOUNT_MERGE_HAS_SUB_ENTRIES = -4
ACCOUNT_MERGE_SEQNUM_TOO_FAR = -5
ACCOUNT_MERGE_DEST_FULL = -6
ACCOUNT_MERGE_IS_SPONSOR = -7

MANAGE_DATA_NAME_NOT_FOUND = -2
MANAGE_DATA_LOW_RESERVE = -3
MANAGE_DATA_INVALID_NAME = -4

BUMP_SEQUENCE_BAD_SEQ = -1

BEGIN_SPONSORING_MALFORMED = -1
BEGIN_SPONSORING_ALREADY_SPONSORED = -2
BEGIN_SPONSORING_RECURSIVE = -3

END_SPONSORING_NOT_SPONSORED = -1

REVOKE_SPONSORSHIP_DOES_NOT_EXIST = -1
REVOKE_SPONSORSHIP_NOT_SPONSOR = -2
REVOKE_SPONSORSHIP_LOW_RESERVE = -3
REVOKE_SPONSORSHIP_ONLY_TRANSFERABLE = -4
REVOKE_SPONSORSHIP_MALFORMED = -5

SET_TRUST_LINE_FLAGS_MALFORMED = -1
SET_TRUST_LINE_FLAGS_NO_TRUST_LINE = -2
SET_TRUST_LINE_FLAGS_CANT_REVOKE = -3
SET_TRUST_LINE_FLAGS_INVALID_STATE = -4
SET_TRUST_LINE_FLAGS_LOW_RESERVE = -5

_COMMON = {0: "op_success", -1: "op_malformed"}

INNER_CODE_NAMES = {
    CREATE_ACCOUNT: {
        **_COMMON,
        -2: "op_underfunded",
        -3: "op_low_reserve",
        -4: "op_already_exists",
    },
    PAYMENT: {
        **_COMMON,
        -2: "op_underfunded",
        -3: "op_src_no_trust",
        -4: "op_src_not_authorized",
        -5: "op_no_destination",
        -6: "op_no_trust",
        -7: "op_not_authorized",
        -8: "op_line_full",
        -9: "op_no_issuer",
    },
    SET_OPTIONS: {
        0: "op_success",
        -1: "op_low_reserve",
        -2: "op_too_many_signers",
        -3: "op_bad_flags",
        -4: "op_invalid_inflation",
        -5: "op_cant_change",
        -6: "op_unknown_flag",
        -7: "op_threshold_out_of_range",
        -8: "op_bad_signer",
        -9: "op_invalid_home_domain",
        -10: "op_auth_revocable_required",
    },
    CHANGE_TRUST: {
        **_COMMON,
        -2: "op_no_issuer",
        -3: "op_invalid_limit",
        -4: "op_low_reserve",
        -5: "op_self_not_allowed",
        -6: "op_trust_line_missing",
        -7: "op_cannot_delete",
        -8: "op_not_aut_maintain_liabilities",
    },
    ACCOUNT_MERGE: {
        **_COMMON,
        -2: "op_no_account",
        -3: "op_immutable_set",
        -4: "op_has_sub_entries",
        -5: "op_seq_num_too_far",
        -6: "op_dest_full",
        -7: "op_is_sponsor",
    },
    MANAGE_DATA: {
        0: "op_success",
        -1: "op_not_supported_yet",
        -2: "op_data_name_not_found",
        -3: "op_low_reserve",
        -4: "op_data_invalid_name",
    },
    BUMP_SEQUENCE: {0: "op_success", -1: "op_bad_seq"},
    BEGIN_SPONSORING_FUTURE_RESERVES: {
        **_COMMON,
        -2: "op_already_sponsored",
        -3: "op_recursive",
    },
    END_SPONSORING_FUTURE_RESERVES: {0: "op_success", -1: "op_not_sponsored"},
    REVOKE_SPONSORSHIP: {
        0: "op_success",
        -1: "op_does_not_exist",
        -2: "op_not_sponsor",
        -3: "op_low_reserve",
        -4: "op_only_transferable",
        -5: "op_malformed",
    },
    SET_TRUST_LINE_FLAGS: {
        **_COMMON,
        -2: "op_no_trust",
        -3: "op_cant_revoke",
        -4: "op_invalid_state",
        -5: "op_low_reserve",
    },
    INVOKE_HOST_FUNCTION: {
        0: "op_success",
        -1: "op_malformed",
        -2: "op_trapped",
        -3: "op_resource_limit_exceeded",
        -4: "op_entry_archived",
        -5: "op_insufficient_refundable_fee",
    },
    EXTEND_FOOTPRINT_TTL: {
        0: "op_success",
        -1: "op_malformed",
        -2: "op_resource_limit_exceeded",
        -3: "op_insufficient_refundable_fee",
    },
    RESTORE_FOOTPRINT: {
        0: "op_success",
        -1: "op_malformed",
        -2: "op_resource_limit_exceeded",
        -3: "op_insufficient_refundable_fee",
    },
}


def operation_code_name(outer: int, op_type: int, inner: int) -> str:
    """Horizon's string for one operation result."""
    if outer != OP_INNER:
        return OP_OUTER_NAMES[outer]
    return INNER_CODE_NAMES[op_type][inner]
