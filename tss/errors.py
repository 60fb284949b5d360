"""Domain errors of the TSS, with messages fit for an operator or a payment's
status history."""

from __future__ import annotations

from typing import Any


class TSSError(Exception):
    """Base of every TSS domain error."""


class HorizonError(TSSError):
    """Horizon answered with an error (or not at all).

    ``status`` is the HTTP status (0 when no answer came); ``result_codes`` is
    Horizon's ``extras.result_codes`` when there is one.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        result_codes: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.result_codes = result_codes or {}

    @property
    def transient(self) -> bool:
        return self.status in (0, 429, 500, 502, 503, 504)


class TransactionFailed(TSSError):
    """A transaction was refused or failed on the ledger, definitively."""

    def __init__(
        self, message: str, *, result_codes: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.result_codes = result_codes or {}


class TrustlineNotEmpty(TSSError):
    """A trustline cannot be removed while it holds a balance."""


class NoDistributionAccount(TSSError):
    """The tenant has no distribution account the TSS can sign for."""
