"""SEP-24 v3.7 response schemas, written from the specification's text (the
"Info", "Transaction History" and "Single Historical Transaction" sections):
types, formats and the fields each status requires. Strict where the spec is:
no field is an empty string standing for "not applicable"."""

from __future__ import annotations

STATUSES = [
    "incomplete",
    "pending_user_transfer_start",
    "pending_user_transfer_complete",
    "pending_external",
    "pending_anchor",
    "on_hold",
    "pending_stellar",
    "pending_trust",
    "pending_user",
    "completed",
    "refunded",
    "expired",
    "no_market",
    "too_small",
    "too_large",
    "error",
]

AMOUNT = {"type": "string", "pattern": r"^\d+(\.\d{1,7})?$"}
SEP38_ASSET = {
    "type": "string",
    "pattern": r"^stellar:(native|[A-Za-z0-9]{1,12}:G[A-Z2-7]{55})$",
}
DATE_TIME = {"type": "string", "format": "date-time", "pattern": r"(Z|[+-]00:00)$"}
TEXT = {"type": "string", "minLength": 1}
STELLAR_HASH = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
G_ACCOUNT = {"type": "string", "pattern": "^G[A-Z2-7]{55}$"}

_asset_info = {
    "type": "object",
    "properties": {
        "enabled": {"type": "boolean"},
        "min_amount": {"type": "number"},
        "max_amount": {"type": "number"},
        "fee_fixed": {"type": "number"},
        "fee_percent": {"type": "number"},
        "fee_minimum": {"type": "number"},
    },
    "required": ["enabled"],
    "additionalProperties": False,
}

INFO = {
    "type": "object",
    "properties": {
        "deposit": {"type": "object", "additionalProperties": _asset_info},
        "withdraw": {"type": "object", "additionalProperties": _asset_info},
        "fee": {
            "type": "object",
            "properties": {
                "enabled": {"type": "boolean"},
                "authentication_required": {"type": "boolean"},
            },
            "required": ["enabled"],
            "additionalProperties": False,
        },
        "features": {
            "type": "object",
            "properties": {
                "account_creation": {"type": "boolean"},
                "claimable_balances": {"type": "boolean"},
            },
            "additionalProperties": False,
        },
    },
    "required": ["deposit", "withdraw", "fee"],
}

_fields = {
    "id": TEXT,
    "kind": {"enum": ["deposit", "withdrawal"]},
    "status": {"enum": STATUSES},
    "status_eta": {"type": "number"},
    "kyc_verified": {"type": "boolean"},
    "more_info_url": {"type": "string", "format": "uri", "pattern": "^https?://"},
    "amount_in": AMOUNT,
    "amount_in_asset": SEP38_ASSET,
    "amount_out": AMOUNT,
    "amount_out_asset": SEP38_ASSET,
    "amount_fee": AMOUNT,
    "amount_fee_asset": SEP38_ASSET,
    "fee_details": {
        "type": "object",
        "properties": {"total": AMOUNT, "asset": SEP38_ASSET},
        "required": ["total", "asset"],
    },
    "quote_id": TEXT,
    "started_at": DATE_TIME,
    "completed_at": DATE_TIME,
    "updated_at": DATE_TIME,
    "user_action_required_by": DATE_TIME,
    "stellar_transaction_id": STELLAR_HASH,
    "external_transaction_id": TEXT,
    "message": TEXT,
    "refunded": {"type": "boolean"},
    "refunds": {"type": "object"},
    "deposit_memo": TEXT,
    "deposit_memo_type": {"enum": ["text", "id", "hash"]},
    "from": TEXT,
    "to": G_ACCOUNT,
    "claimable_balance_id": TEXT,
}

# What every deposit needs, and what a completed one needs on top (the payment
# that completed it: amounts, assets, its Stellar transaction, when).
_required = ["id", "kind", "status", "more_info_url", "started_at", "to"]
_completed = [
    "amount_in",
    "amount_in_asset",
    "amount_out",
    "amount_out_asset",
    "amount_fee",
    "stellar_transaction_id",
    "completed_at",
]

TRANSACTION = {
    "type": "object",
    "properties": _fields,
    "additionalProperties": False,
    "required": _required,
    "allOf": [
        {
            "if": {"properties": {"status": {"const": "completed"}}},
            "then": {"required": _completed},
        },
        {
            "if": {"properties": {"status": {"not": {"const": "completed"}}}},
            "then": {"not": {"required": ["completed_at"]}},
        },
        {
            "if": {"properties": {"status": {"enum": ["error", "expired"]}}},
            "then": {"required": ["message"]},
        },
        {
            "if": {"required": ["deposit_memo"]},
            "then": {"required": ["deposit_memo_type"]},
        },
    ],
}

ONE = {
    "type": "object",
    "properties": {"transaction": TRANSACTION},
    "required": ["transaction"],
    "additionalProperties": False,
}
MANY = {
    "type": "object",
    "properties": {"transactions": {"type": "array", "items": TRANSACTION}},
    "required": ["transactions"],
    "additionalProperties": False,
}
INTERACTIVE = {
    "type": "object",
    "properties": {
        "type": {"const": "interactive_customer_info_needed"},
        "url": {"type": "string", "pattern": "^https?://"},
        "id": TEXT,
    },
    "required": ["type", "url", "id"],
    "additionalProperties": False,
}
AUTHENTICATION_REQUIRED = {
    "type": "object",
    "properties": {"type": {"const": "authentication_required"}},
    "required": ["type"],
    "additionalProperties": False,
}
ERROR = {"type": "object", "properties": {"error": TEXT}, "required": ["error"]}


def check(instance, schema) -> None:
    """Raises jsonschema.ValidationError naming the first field that breaks it."""
    from jsonschema import Draft202012Validator, FormatChecker

    Draft202012Validator(schema, format_checker=FormatChecker()).validate(instance)
