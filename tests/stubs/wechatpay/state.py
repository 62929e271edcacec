"""What the provider remembers, so that a number sent again is the same request: receivers, transactions,
split and unfreeze orders, returns, transfer bills, how often each was really executed and the request
log; with the limits a test may change and the setup and inspection calls
tests use. The handlers (profitsharing, transfers) read and write these records under `lock`."""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from tests.stubs.wechatpay.keys import StubKeys, public_key_pem, rotated_keys
from tests.stubs.wechatpay.signing import Signer

CST = timezone(timedelta(hours=8))  # WeChat reports times and counts daily limits in China time
FINAL_STATES = frozenset({"SUCCESS", "FAIL", "CANCELLED"})  # a transfer bill's ends, each notified


@dataclass
class Transaction:
    total: int  # what may be split (the stub does not model the 30% ratio: set the cap directly)
    reserved: int = 0  # held by splits that are SUCCESS or still PENDING
    unfrozen: int = 0  # released to the merchant
    finished: bool = False  # unfrozen: no more splits
    split_count: int = 0

    @property
    def remaining(self) -> int:
        return self.total - self.reserved - self.unfrozen


@dataclass
class Order:
    kind: str  # "split" | "unfreeze"
    out_order_no: str
    order_id: str
    transaction_id: str
    fingerprint: tuple[Any, ...]
    receivers: list[dict[str, Any]]  # each with its planned final "result" and "fail_reason"
    unfreeze_after: bool
    create_time: str
    pending_polls: int = 0
    finished: bool = False
    finish_time: str = ""


@dataclass
class Return:
    out_return_no: str
    return_id: str
    order: Order
    return_mchid: str
    amount: int
    description: str
    fingerprint: tuple[Any, ...]
    create_time: str


@dataclass
class Bill:
    out_bill_no: str
    transfer_bill_no: str
    openid: str
    amount: int
    scene_id: str
    remark: str
    user_name: str | None
    fingerprint: tuple[Any, ...]
    state: str
    final_state: str
    fail_reason: str
    package_info: str
    day: str
    create_time: str
    update_time: str
    pending_polls: int = 0
    notify_url: str = ""  # where the outcome is posted (MCHTRANSFER.BILL.FINISHED)
    confirm_deadline: float = 0.0  # WAIT_USER_CONFIRM: WeChat closes the bill (CANCELLED) at this time


class StubState:
    """The records and limits behind a `WechatPayStub` (which adds the HTTP server and the failure API).

    Limits are attributes so a test can change them: `daily_limit_per_openid` (2,000,000 fen),
    `min_transfer_amount` (10 fen), `user_name_threshold` (200,000 fen: WeChat wants the real name from
    ¥2,000 up), `max_receivers` (50), `max_splits_per_transaction` (50), `default_transaction_amount`
    (splittable fen for a transaction not declared with set_transaction), `daily_limit_behaviour`
    ("refuse": 403 DAY_RECEIVED_QUOTA_EXCEED at creation; "fail": the bill ends FAIL with that fail_reason),
    `require_added_receivers` (a receiver never added ends CLOSED / NO_RELATION), `clock_offset` (seconds
    added to the stub's clock, for skew tests), `split_processing_polls` (a new split answers PROCESSING,
    then this many queries still do before one answers FINISHED, as WeChat's splits are asynchronous; None:
    FINISHED at once).
    added to the stub's clock, for skew tests), `unconfirmed_ttl_seconds` (86,400: a bill waiting for the
    payee's confirmation is closed after that).
    """

    def __init__(self, keys: StubKeys, *, clock: Callable[[], float] = time.time) -> None:
        self.keys = keys
        self.signer = Signer(keys)
        self._clock = clock
        self.lock = threading.RLock()
        self.daily_limit_per_openid = 2_000_000
        self.min_transfer_amount = 10
        self.user_name_threshold = 200_000
        self.max_receivers = 50
        self.max_splits_per_transaction = 50
        self.default_transaction_amount = 100_000_000
        self.daily_limit_behaviour = "refuse"
        self.require_added_receivers = True
        self.clock_offset = 0.0
        self.split_processing_polls: int | None = 0
        self.unconfirmed_ttl_seconds = 24 * 3600
        self.reset()

    def reset(self) -> None:
        """Forget all records and counters (a module-scoped stub can be reused between tests)."""
        with self.lock:
            self.log: list[dict[str, Any]] = []
            self.added_receivers: dict[tuple[str, str], dict[str, Any]] = {}
            self.deleted_receivers: list[tuple[str, str]] = []
            self.too_soon: dict[str, str] = {}  # transaction_id -> the message WeChat answers it with
            self.transactions: dict[str, Transaction] = {}
            self.orders: dict[str, Order] = {}
            self.returns: dict[str, Return] = {}
            self.returned: Counter[tuple[str, str]] = Counter()
            self.received: Counter[str] = Counter()
            self.bills: dict[str, Bill] = {}
            self.finished_bills: list[str] = []  # bills whose end is to be notified, in order
            self.executed: dict[str, Counter[str]] = defaultdict(Counter)
            self._ids = itertools.count(1)

    # --- the provider's clock and numbering ---------------------------------------------------------------------
    def now(self) -> float:
        return self._clock() + self.clock_offset

    def iso_now(self) -> str:
        return datetime.fromtimestamp(self.now(), CST).isoformat(timespec="seconds")

    def today(self) -> str:
        """The day in China time, which daily limits count by."""
        return datetime.fromtimestamp(self.now(), CST).date().isoformat()

    def next_id(self, prefix: str, width: int) -> str:
        return f"{prefix}{next(self._ids):0{width}d}"

    def transaction(self, transaction_id: str) -> Transaction:
        """The payment's split account, with the default amount if the test did not declare it."""
        if transaction_id not in self.transactions:
            self.transactions[transaction_id] = Transaction(total=self.default_transaction_amount)
        return self.transactions[transaction_id]

    # --- scenario setup and inspection ------------------------------------------------------------------------
    def set_transaction(self, transaction_id: str, amount: int) -> None:
        """Declare how much of a payment may be split (fen)."""
        with self.lock:
            self.transactions[transaction_id] = Transaction(total=amount)

    def register_receiver(
        self, type: str, account: str, relation_type: str = "DISTRIBUTOR", name: str | None = None
    ) -> None:
        """Add a receiver as if receivers/add had been called (setup shortcut for split tests)."""
        with self.lock:
            self.added_receivers[(type, account)] = {"relation_type": relation_type, "name": name}

    def refuse_splits_too_soon(self, transaction_id: str, message: str | None = "订单处理中，请稍后重试") -> None:
        """Until called again with None: every split of this payment is refused INVALID_REQUEST with
        `message`, as WeChat answers a split too soon after payment (its wording varies)."""
        with self.lock:
            if message is None:
                self.too_soon.pop(transaction_id, None)
            else:
                self.too_soon[transaction_id] = message

    def rotate_platform_key(self) -> tuple[str, str]:
        """WeChat rotates its platform key: answers are signed with a new key under a new serial from now
        on. Returns (serial, public key PEM) of the new key, for the merchant's account."""
        with self.lock:
            self.keys = rotated_keys(self.keys)
            self.signer = Signer(self.keys)
            return self.keys.platform_serial_no, public_key_pem(self.keys.platform_private_key_pem)

    def receivers(self) -> dict[tuple[str, str], dict[str, Any]]:
        with self.lock:
            return {key: dict(value) for key, value in self.added_receivers.items()}

    def unsplit_amount(self, transaction_id: str) -> int:
        with self.lock:
            return self.transaction(transaction_id).remaining

    def executed_splits(self) -> dict[str, int]:
        """out_order_no -> how many times a split was really executed (never more than 1 if all is well)."""
        return self._executed_copy("split")

    def executed_unfreezes(self) -> dict[str, int]:
        return self._executed_copy("unfreeze")

    def executed_returns(self) -> dict[str, int]:
        return self._executed_copy("return")

    def executed_transfers(self) -> dict[str, int]:
        """out_bill_no -> how many transfer bills were really created for it."""
        return self._executed_copy("transfer")

    def _executed_copy(self, kind: str) -> dict[str, int]:
        with self.lock:
            return dict(self.executed[kind])

    def paid_by_openid(self) -> dict[str, int]:
        """Fen that reached each user's balance: transfer bills in state SUCCESS."""
        with self.lock:
            paid: Counter[str] = Counter()
            for bill in self.bills.values():
                if bill.state == "SUCCESS":
                    paid[bill.openid] += bill.amount
            return dict(paid)

    def received_by_account(self) -> dict[str, int]:
        """Fen each split receiver holds: SUCCESS splits minus returns."""
        with self.lock:
            return {account: amount for account, amount in self.received.items() if amount}

    def request_log(self, endpoint: str | None = None, *, number: str | None = None) -> list[dict[str, Any]]:
        """Every request seen: method, path, endpoint, number, headers, body, mode, status ("dropped")."""
        with self.lock:
            return [
                dict(entry)
                for entry in self.log
                if (endpoint is None or entry["endpoint"] == endpoint) and (number is None or entry["number"] == number)
            ]

    def transfer_bill(self, out_bill_no: str) -> dict[str, Any]:
        """The stored bill, including the decrypted user_name the client sent."""
        with self.lock:
            return dataclasses.asdict(self.bills[out_bill_no])

    def confirm_transfer(self, out_bill_no: str, *, accept: bool = True) -> None:
        """The user confirms (SUCCESS) or the bill is cancelled (CANCELLED) while WAIT_USER_CONFIRM."""
        with self.lock:
            bill = self.bills[out_bill_no]
            if bill.state != "WAIT_USER_CONFIRM":
                raise ValueError(f"bill {out_bill_no} is {bill.state}, not WAIT_USER_CONFIRM")
            self.set_transfer_state(out_bill_no, "SUCCESS" if accept else "CANCELLED")

    def set_transfer_state(self, out_bill_no: str, state: str, fail_reason: str = "") -> None:
        with self.lock:
            bill = self.bills[out_bill_no]
            bill.state = bill.final_state = state
            bill.fail_reason = fail_reason
            bill.pending_polls = 0
            bill.update_time = self.iso_now()
            if state in FINAL_STATES:
                self.bill_finished(bill)

    def expire_unconfirmed_transfers(self, *, at: float | None = None) -> list[str]:
        """Close (CANCELLED) every bill still waiting for its payee past its deadline, as WeChat does about a
        day after creation; `at` is the provider's time (default now). The numbers closed."""
        now = self.now() if at is None else at
        with self.lock:
            expired = [
                bill.out_bill_no
                for bill in self.bills.values()
                if bill.state == "WAIT_USER_CONFIRM" and bill.confirm_deadline <= now
            ]
            for out_bill_no in expired:
                self.set_transfer_state(out_bill_no, "CANCELLED")
            return expired

    def bill_finished(self, bill: Bill) -> None:
        """A bill reached its end: its notification is due, if the request asked for one (notify_url)."""
        if bill.notify_url:
            self.finished_bills.append(bill.out_bill_no)
