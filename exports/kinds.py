"""What can be exported: each kind's rows, columns, filters and who may export it.

A kind reads the same rows its list endpoint shows, filtered by the list's own FilterSet (the same query
parameters, the same validation: `distributors.filters`, `commissions.filters`, `orders.filters`,
`settlements.filters`), and shows what the list shows and no more: personal data only in the masked form
the list answers with. Cells are made JSON-friendly here (text, whole numbers, booleans, empty) so a job
can keep a chunk's rows in a part file; money is a decimal string ("12.34") and becomes a `Decimal` when
the file is written (text in CSV, a number in XLSX: `distribution.exports`); times are ISO 8601 with the
merchant's offset.

Rows are read in chunks by keyset (`chunk`): the lists' order (newest first, by id) for the lists, the
days in order for the daily figures; a job's cursor is where the next chunk starts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from django.db.models import Max, QuerySet
from django.http import QueryDict
from django.utils import timezone
from rest_framework import serializers

from analytics.db import reads
from analytics.models import DailyMerchant
from commissions.filters import CommissionLineFilter
from commissions.models import CommissionLine
from distribution import money
from distribution.api.filters import FilterSet
from distribution.errors import ValidationFailed
from distributors.filters import DistributorFilter
from distributors.models import Distributor
from merchants.models import Merchant
from merchants.roles import Perm
from orders.filters import OrderFilter
from orders.models import Order
from settlements.filters import WithdrawalFilter
from settlements.models import Withdrawal

Cell = str | int | bool | None
Filters = dict[str, list[str]]  # query parameter → its values, as a QueryDict holds them
MAX_DAYS = 731  # the daily figures' longest range: two years (one of them a leap year)


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Any, Merchant], Any]
    money: bool = False  # minor units in, a decimal string out


def _attr(name: str) -> Callable[[Any, Merchant], Any]:
    def get(obj: Any, merchant: Merchant) -> Any:
        for part in name.split("."):
            obj = getattr(obj, part, None) if obj is not None else None
        return obj

    return get


def _cell(value: Any, merchant: Merchant, is_money: bool) -> Cell:
    if value is None:
        return None
    if is_money:
        return money.format_amount(value, merchant.currency)
    if isinstance(value, datetime):
        return value.astimezone(merchant.tz).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (bool, int, str)):
        return value
    return str(value)


@dataclass(frozen=True)
class Kind:
    name: str  # the URL's name: /api/v1/exports/<name>
    title: str
    permission: str
    columns: tuple[Column, ...]
    model: type[Any]
    filterset: type[FilterSet] | None = None
    related: tuple[str, ...] = ()
    filter_names: tuple[str, ...] = ()

    @property
    def header(self) -> list[str]:
        return [column.header for column in self.columns]

    @property
    def money_columns(self) -> list[int]:
        return [i for i, column in enumerate(self.columns) if column.money]

    def parameters(self) -> tuple[str, ...]:
        """The query parameters that filter this kind (the list's)."""
        if self.filterset is not None:
            return tuple(self.filterset.base_filters)
        return self.filter_names

    def base(self, merchant: Merchant) -> QuerySet[Any]:
        return self.model.objects.for_merchant(merchant).select_related(*self.related)

    def normalize(self, merchant: Merchant, params: QueryDict) -> Filters:
        """The filters this kind reads from the query (others are ignored, as the list ignores them),
        refused with 400 when one does not parse."""
        filters = {name: params.getlist(name) for name in self.parameters() if name in params}
        self.queryset(merchant, filters)  # validates
        return filters

    def queryset(self, merchant: Merchant, filters: Filters) -> QuerySet[Any]:
        """The matching rows, by the list's FilterSet (related ids looked up inside the merchant)."""
        data = QueryDict(mutable=True)
        for name, values in filters.items():
            data.setlist(name, values)
        # the FilterSet reads the caller's merchant from request.auth (ScopedModelChoiceFilter); a worker has
        # no request, so it is given one that carries the job's merchant and nothing else
        request = SimpleNamespace(auth=SimpleNamespace(merchant=merchant))
        assert self.filterset is not None
        filterset = self.filterset(data=data, queryset=self.base(merchant), request=request)
        if not filterset.is_valid():
            raise ValidationFailed(
                fields={name: [str(message) for message in messages] for name, messages in filterset.errors.items()}
            )
        return filterset.qs

    def start(self, queryset: QuerySet[Any]) -> int:
        """The cursor a job starts from: above the newest row now, so rows added while it runs stay out."""
        newest = queryset.aggregate(top=Max("id"))["top"]
        return (newest or 0) + 1

    def chunk(self, queryset: QuerySet[Any], cursor: int, size: int) -> tuple[list[Any], int]:
        """The next `size` rows from `cursor` and the cursor after them."""
        objects = list(queryset.filter(id__lt=cursor).order_by("-id")[:size])
        return objects, (objects[-1].pk if objects else cursor)

    def rows(self, objects: Sequence[Any], merchant: Merchant) -> list[list[Cell]]:
        return [[_cell(c.value(obj, merchant), merchant, c.money) for c in self.columns] for obj in objects]

    def typed(self, row: Sequence[Cell]) -> list[Any]:
        """A stored row ready for the file: money columns as Decimals (numbers in XLSX)."""
        out: list[Any] = list(row)
        for i in self.money_columns:
            if out[i] is not None:
                out[i] = Decimal(str(out[i]))
        return out


class AsciiDateField(serializers.DateField):
    """YYYY-MM-DD in ASCII digits (DRF's own also reads other scripts' digits, "２０２６-01-01"), between the
    years 2000 and 2100 as every time of the API."""

    default_error_messages = {"range": "Must be between 2000-01-01 and 2100-01-01."}

    def to_internal_value(self, value: Any) -> date:
        if isinstance(value, str) and not value.isascii():
            self.fail("invalid", format="YYYY-MM-DD")
        parsed: date = super().to_internal_value(value)
        if not date(2000, 1, 1) <= parsed < date(2100, 1, 1):
            self.fail("range")
        return parsed


class DailyFiguresInput(serializers.Serializer):
    date_from = AsciiDateField(required=False, help_text="The first day (default: 29 days before date_to).")
    date_to = AsciiDateField(required=False, help_text="The last day (default: today).")


@dataclass(frozen=True)
class DailyFiguresKind(Kind):
    """The merchant's figures per day (analytics.DailyMerchant), days in the merchant's time zone, in order."""

    def normalize(self, merchant: Merchant, params: QueryDict) -> Filters:
        serializer = DailyFiguresInput(data={k: params[k] for k in self.filter_names if k in params})
        if not serializer.is_valid():
            raise ValidationFailed(fields={k: [str(m) for m in v] for k, v in serializer.errors.items()})
        today = timezone.now().astimezone(merchant.tz).date()
        date_to = serializer.validated_data.get("date_to", today)
        date_from = serializer.validated_data.get("date_from", date_to - timedelta(days=29))
        if date_to > today:
            raise ValidationFailed(fields={"date_to": [f"Cannot be after today ({today.isoformat()})."]})
        if date_from > date_to:
            raise ValidationFailed(fields={"date_from": ["Must not be after date_to."]})
        if (date_to - date_from).days + 1 > MAX_DAYS:
            raise ValidationFailed(fields={"date_from": [f"A range of at most {MAX_DAYS} days (two years)."]})
        return {"date_from": [date_from.isoformat()], "date_to": [date_to.isoformat()]}

    def queryset(self, merchant: Merchant, filters: Filters) -> QuerySet[Any]:
        first, last = (date.fromisoformat(filters[name][0]) for name in ("date_from", "date_to"))
        return DailyMerchant.objects.for_merchant(merchant).using(reads()).filter(day__gte=first, day__lte=last)

    def start(self, queryset: QuerySet[Any]) -> int:
        return 0

    def chunk(self, queryset: QuerySet[Any], cursor: int, size: int) -> tuple[list[Any], int]:
        days = list(queryset.filter(day__gte=date.fromordinal(max(cursor, 1))).order_by("day")[:size])
        return days, (days[-1].day.toordinal() + 1 if days else cursor)


def _net_gmv(row: DailyMerchant, merchant: Merchant) -> int:
    return row.gmv - row.refunded


DISTRIBUTORS = Kind(
    name="distributors",
    title="distributors",
    permission=Perm.VIEW,
    model=Distributor,
    filterset=DistributorFilter,
    related=("level", "inviter"),
    columns=(
        Column("Distributor ID", _attr("pk")),
        Column("App user ID", _attr("external_user_id")),
        Column("Invite code", _attr("invite_code")),
        Column("Name", _attr("display_name")),
        Column("Phone (masked)", _attr("phone_masked")),
        Column("Status", _attr("status")),
        Column("Status reason", _attr("status_reason")),
        Column("Status changed at", _attr("status_changed_at")),
        Column("Inviter ID", _attr("inviter_id")),
        Column("Inviter name", _attr("inviter.display_name")),
        Column("Depth", _attr("depth")),
        Column("Level", _attr("level.name")),
        Column("Level locked", _attr("level_locked")),
        Column("Level lock reason", _attr("level_lock_reason")),
        Column("Real name (masked)", _attr("real_name_masked")),
        Column("ID type", _attr("id_type")),
        Column("ID number (masked)", _attr("id_number_masked")),
        Column("Identity verified", _attr("identity_verified")),
        Column("Identity verified at", _attr("identity_verified_at")),
        Column("Applied at", _attr("applied_at")),
        Column("Activated at", _attr("activated_at")),
        Column("Created at", _attr("created_at")),
    ),
)

COMMISSION_LINES = Kind(
    name="commission-lines",
    title="commission lines",
    permission=Perm.FINANCE_EXPORT,
    model=CommissionLine,
    filterset=CommissionLineFilter,
    related=("order", "order_item", "beneficiary"),
    columns=(
        Column("Line ID", _attr("pk")),
        Column("Order", _attr("order.external_id")),
        Column("Order item", _attr("order_item.line_id")),
        Column("Depth", _attr("depth")),
        Column("Kind", _attr("kind")),
        Column("Beneficiary ID", _attr("beneficiary_id")),
        Column("Beneficiary name", _attr("beneficiary.display_name")),
        Column("Beneficiary invite code", _attr("beneficiary.invite_code")),
        Column("Status", _attr("status")),
        Column("Base amount", _attr("base_amount"), money=True),
        Column("Rate source", _attr("rate_source")),
        Column("Rate mode", _attr("rate_mode")),
        Column("Rate (basis points)", _attr("rate_bps")),
        Column("Rate amount", _attr("rate_amount"), money=True),
        Column("Uncapped amount", _attr("uncapped_amount"), money=True),
        Column("Amount", _attr("amount"), money=True),
        Column("Reversed amount", _attr("reversed_amount"), money=True),
        Column("Net amount", _attr("net_amount"), money=True),
        Column("Unlocks at", _attr("unlock_at")),
        Column("Confirmed at", _attr("confirmed_at")),
        Column("Settled at", _attr("settled_at")),
        Column("Reversed at", _attr("reversed_at")),
        Column("Created at", _attr("created_at")),
    ),
)

ORDERS = Kind(
    name="orders",
    title="orders",
    permission=Perm.VIEW,
    model=Order,
    filterset=OrderFilter,
    related=("distributor",),
    columns=(
        Column("Order ID", _attr("pk")),
        Column("External ID", _attr("external_id")),
        Column("Customer", _attr("customer_external_id")),
        Column("Share code", _attr("share_code")),
        Column("Payment transaction ID", _attr("payment_transaction_id")),
        Column("Kind", _attr("kind")),
        Column("Currency", _attr("currency")),
        Column("Status", _attr("status")),
        Column("Goods amount", _attr("goods_amount"), money=True),
        Column("Shipping amount", _attr("shipping_amount"), money=True),
        Column("Refunded amount", _attr("refunded_amount"), money=True),
        Column("Distributor ID", _attr("distributor_id")),
        Column("Distributor name", _attr("distributor.display_name")),
        Column("Distributor invite code", _attr("distributor.invite_code")),
        Column("Attribution", _attr("attribution")),
        Column("Self purchase", _attr("self_purchase")),
        Column("Paid at", _attr("paid_at")),
        Column("Shipped at", _attr("shipped_at")),
        Column("Completed at", _attr("completed_at")),
        Column("Closed at", _attr("closed_at")),
        Column("Created at", _attr("created_at")),
    ),
)

WITHDRAWALS = Kind(
    name="withdrawals",
    title="withdrawals",
    permission=Perm.FINANCE_EXPORT,
    model=Withdrawal,
    filterset=WithdrawalFilter,
    columns=(
        Column("Withdrawal ID", _attr("pk")),
        Column("Distributor ID", _attr("distributor_id")),
        Column("Payout account ID", _attr("destination_id")),
        Column("Payee kind", _attr("payee_kind")),
        Column("Payee account (masked)", _attr("payee_identity_masked")),
        Column("Payee bank", _attr("payee_bank_name")),
        Column("Amount", _attr("amount"), money=True),
        Column("Fee", _attr("fee"), money=True),
        Column("Tax", _attr("tax"), money=True),
        Column("Net amount", _attr("net_amount"), money=True),
        Column("Currency", _attr("currency")),
        Column("Status", _attr("status")),
        Column("Provider", _attr("provider")),
        Column("Our bill number", _attr("out_bill_no")),
        Column("Provider state", _attr("provider_state")),
        Column("Needs attention", _attr("needs_attention")),
        Column("Failure reason", _attr("failure_reason")),
        Column("Decision reason", _attr("decision_reason")),
        Column("Decided by", _attr("decided_by")),
        Column("Payout batch ID", _attr("batch_id")),
        Column("Requested at", _attr("requested_at")),
        Column("Decided at", _attr("decided_at")),
        Column("Finished at", _attr("finished_at")),
    ),
)

DAILY_FIGURES = DailyFiguresKind(
    name="daily-figures",
    title="daily figures",
    permission=Perm.VIEW,
    model=DailyMerchant,
    filter_names=("date_from", "date_to"),
    columns=(
        Column("Day", _attr("day")),
        Column("Orders", _attr("orders")),
        Column("GMV", _attr("gmv"), money=True),
        Column("Refunded", _attr("refunded"), money=True),
        Column("Net GMV", _net_gmv, money=True),
        Column("Distributed orders", _attr("distributed_orders")),
        Column("Distributed GMV", _attr("distributed_gmv"), money=True),
        Column("Distributed refunded", _attr("distributed_refunded"), money=True),
        Column("Buyers", _attr("buyers")),
        Column("Distributed buyers", _attr("distributed_buyers")),
        Column("Completed orders", _attr("completed_orders")),
        Column("Distributed completed orders", _attr("distributed_completed_orders")),
        Column("Commission accrued", _attr("commission_accrued"), money=True),
        Column("Commission pending", _attr("commission_pending"), money=True),
        Column("Commission confirmed", _attr("commission_confirmed"), money=True),
        Column("Commission settled", _attr("commission_settled"), money=True),
        Column("Commission reversed", _attr("commission_reversed"), money=True),
        Column("Commission clawed back", _attr("commission_clawed_back"), money=True),
        Column("Visits", _attr("visits")),
    ),
)

KINDS: dict[str, Kind] = {
    kind.name: kind for kind in (DISTRIBUTORS, COMMISSION_LINES, ORDERS, WITHDRAWALS, DAILY_FIGURES)
}


def kind_of(name: str) -> Kind:
    return KINDS[name]


def kinds_for(permissions: frozenset[str]) -> list[str]:
    """The kinds a role with these permissions may export (and see the jobs and files of)."""
    return [name for name, kind in KINDS.items() if kind.permission in permissions]
