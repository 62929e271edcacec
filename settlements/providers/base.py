"""What the settlement and payout code needs from a payment provider.

Every request carries a number of ours (`out_order_no`, `out_bill_no`, `out_return_no`) built from our
own immutable ids and stored before the call; sending the same number again is the same request.
When the outcome is unknown (timeout, dropped connection, 5xx), callers keep the number and query it
later; they never issue a new number while the old one is not final.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class ProviderError(Exception):
    """The provider answered, and the answer is a refusal.

    `transient` refusals (rate limit, SYSTEM_ERROR) may be retried later with the same number; the others
    are final for that request unless the caller's own retry policy says otherwise (a split refused with
    INVALID_REQUEST soon after payment: settlements.services.splits).
    """

    def __init__(self, code: str, message: str = "", *, transient: bool = False, http_status: int | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.transient = transient
        self.http_status = http_status


class ProviderUnknownOutcome(Exception):
    """The request may or may not have been taken (timeout, connection dropped, 5xx, unsigned 2xx).

    Query with the same number before deciding anything.
    """


# --- profit sharing (分账) ------------------------------------------------------------------------------
@dataclass(frozen=True)
class SplitReceiver:
    type: str  # "PERSONAL_OPENID" or "MERCHANT_ID"
    account: str
    amount: int  # fen
    description: str


@dataclass(frozen=True)
class SplitReceiverResult:
    type: str
    account: str
    amount: int
    result: str  # "PENDING" | "SUCCESS" | "CLOSED"
    fail_reason: str = ""


@dataclass(frozen=True)
class SplitResult:
    out_order_no: str
    order_id: str  # the provider's id for the split
    state: str  # "PROCESSING" | "FINISHED"
    receivers: list[SplitReceiverResult] = field(default_factory=list)


@dataclass(frozen=True)
class ReturnResult:
    out_return_no: str
    return_id: str
    result: str  # "PROCESSING" | "SUCCESS" | "FAILED"
    amount: int
    fail_reason: str = ""


class ProfitSharingProvider(Protocol):
    def add_receiver(self, *, type: str, account: str, relation_type: str, name: str | None = None) -> None: ...

    def delete_receiver(self, *, type: str, account: str) -> None: ...

    def request_split(
        self, *, transaction_id: str, out_order_no: str, receivers: list[SplitReceiver], unfreeze_unsplit: bool
    ) -> SplitResult: ...

    def query_split(self, *, transaction_id: str, out_order_no: str) -> SplitResult: ...

    def unfreeze(self, *, transaction_id: str, out_order_no: str, description: str) -> SplitResult: ...

    def return_split(
        self, *, out_return_no: str, out_order_no: str, return_mchid: str, amount: int, description: str
    ) -> ReturnResult: ...


# --- merchant transfer to a person (商家转账), for withdrawals ---------------------------------------------
@dataclass(frozen=True)
class TransferResult:
    out_bill_no: str
    transfer_bill_no: str
    state: str  # ACCEPTED | PROCESSING | WAIT_USER_CONFIRM | TRANSFERING | SUCCESS | FAIL | CANCELING | CANCELLED
    fail_reason: str = ""
    package_info: str = ""  # for WAIT_USER_CONFIRM: what the app passes to the user to confirm

    FINAL_SUCCESS = frozenset({"SUCCESS"})
    FINAL_FAILURE = frozenset({"FAIL", "CANCELLED"})

    @property
    def final(self) -> bool:
        return self.state in self.FINAL_SUCCESS | self.FINAL_FAILURE


class TransferProvider(Protocol):
    def create_transfer(
        self,
        *,
        out_bill_no: str,
        openid: str,
        amount: int,
        transfer_scene_id: str,
        remark: str,
        user_name: str | None = None,
    ) -> TransferResult: ...

    def query_transfer(self, *, out_bill_no: str) -> TransferResult: ...
