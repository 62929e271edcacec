from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response

from distribution import exports
from distribution.api.views import DistributorApi, ListMixin, MerchantApi, RetrieveMixin
from distribution.audit import audit_record
from distribution.errors import ValidationFailed
from distribution.inputs import parse_month
from distributors.errors import NotADistributor
from distributors.models import Distributor
from distributors.selectors import distributor_for_user
from merchants.roles import Perm
from settlements import ledger
from settlements.api import serializers as s
from settlements.models import LedgerTransaction, SettlementRun, Withdrawal
from settlements.services import runs, statements, withdrawals

FILE_FORMAT_PARAM = OpenApiParameter(
    "format", str, enum=["json", *exports.FORMATS], description="csv or xlsx for a spreadsheet."
)
FILE_RESPONSE = OpenApiResponse(OpenApiTypes.BINARY, description="The file (with ?format=csv or xlsx)")


STATEMENT_RESPONSES = {
    (200, "application/json"): s.StatementOutput,
    (200, "text/csv"): FILE_RESPONSE,
    (200, exports.CONTENT_TYPES["xlsx"]): FILE_RESPONSE,
}


def file_format(view, *, default: str, allowed: tuple[str, ...]) -> str:
    """The `format` query parameter, one of `allowed`."""
    chosen = view.request.query_params.get("format", default)
    if chosen not in allowed:
        raise ValidationFailed(fields={"format": [f"One of {', '.join(allowed)}."]})
    return chosen


def balance_body(merchant, distributor_id: int) -> dict:
    return {
        "currency": merchant.currency,
        **ledger.distributor_balances(merchant.pk, distributor_id, merchant.currency),
    }


def statement_response(view, distributor_id: int, month: str):
    parse_month(month)
    output = file_format(view, default="json", allowed=("json", *exports.FORMATS))
    statement = statements.statement_for(view.merchant, distributor_id, month)
    if output != "json":
        return exports.file_response(
            statements.STATEMENT_COLUMNS,
            statements.statement_rows(statement),
            file_format=output,
            filename=f"statement-{distributor_id}-{month}",
        )
    return Response(s.StatementOutput(statement.as_dict(), context=view.get_serializer_context()).data)


# --- settlement runs -----------------------------------------------------------------------------------------
@extend_schema(tags=["settlement"])
class SettlementRunListApi(ListMixin, MerchantApi):
    """Settlement runs, newest first. POST settles now everything whose after-sales window ended by
    `as_of` (one run at a time; the work happens on a worker, its progress shows here)."""

    model = SettlementRun
    serializer_class = s.SettlementRunOutput
    filterset_fields = ["status", "trigger"]
    required_permissions = {"POST": Perm.SETTLEMENT_RUN}

    @extend_schema(request=s.SettlementRequestInput, responses={201: s.SettlementRunOutput})
    def post(self, request):
        data = self.validate_input(s.SettlementRequestInput)
        run = runs.settlement_request(merchant=self.merchant, actor=self.actor, as_of=data.get("as_of"))
        return Response(self.get_serializer(run).data, status=201)


@extend_schema(tags=["settlement"])
class SettlementRunDetailApi(RetrieveMixin, MerchantApi):
    model = SettlementRun
    serializer_class = s.SettlementRunOutput


# --- balances, statements, payout accounts --------------------------------------------------------------
class _DistributorObjectApi(MerchantApi):
    model = Distributor


@extend_schema(tags=["settlement"])
class DistributorBalanceApi(_DistributorObjectApi):
    """A distributor's balances (pending, available, withdrawing, paid out, receivable)."""

    @extend_schema(responses={200: s.BalanceOutput})
    def get(self, request, pk):
        return Response(
            s.BalanceOutput(
                balance_body(self.merchant, self.get_object().pk), context=self.get_serializer_context()
            ).data
        )


@extend_schema(tags=["settlement"], parameters=[FILE_FORMAT_PARAM])
class DistributorStatementApi(_DistributorObjectApi):
    """A distributor's monthly statement (month in the merchant's time zone): opening balance, earned,
    reversed, clawed back, withdrawn, fees, tax, closing balance."""

    @extend_schema(responses=STATEMENT_RESPONSES)
    def get(self, request, pk, month):
        return statement_response(self, self.get_object().pk, month)


@extend_schema(tags=["settlement"])
class DistributorPayoutAccountApi(_DistributorObjectApi):
    """The merchant's server sets the distributor's WeChat openid (for splits and transfers)."""

    required_permissions = {"PUT": Perm.DISTRIBUTORS_MANAGE}

    @extend_schema(request=s.PayoutAccountInput, responses={200: s.PayoutAccountInput})
    def put(self, request, pk):
        distributor = self.get_object()
        data = self.validate_input(s.PayoutAccountInput)
        old = distributor.payout_openid
        if old != data["openid"]:
            Distributor.objects.for_merchant(self.merchant).filter(pk=distributor.pk).update(
                payout_openid=data["openid"]
            )
            audit_record(
                merchant=self.merchant,
                actor=self.actor,
                action="distributor.payout_account_set",
                obj=distributor,
                changes={"openid": [old[:6] + "…" if old else "", data["openid"][:6] + "…"]},
            )
        return Response({"openid": data["openid"]})


# --- withdrawals --------------------------------------------------------------------------------------------
@extend_schema(tags=["withdrawals"])
class WithdrawalListApi(ListMixin, MerchantApi):
    model = Withdrawal
    serializer_class = s.WithdrawalOutput
    filterset_fields = ["status", "distributor", "provider", "batch"]


class _WithdrawalObjectApi(MerchantApi):
    model = Withdrawal
    serializer_class = s.WithdrawalOutput


@extend_schema(tags=["withdrawals"])
class WithdrawalDetailApi(RetrieveMixin, _WithdrawalObjectApi):
    pass


def _decision(name: str, doc: str, service, input_class, **fixed):
    @extend_schema(request=input_class, responses={200: s.WithdrawalOutput}, tags=["withdrawals"])
    def post(self, request, pk):
        withdrawal = self.get_object()
        data = self.validate_input(input_class)
        done = service(
            merchant=self.merchant, actor=self.actor, withdrawal_id=withdrawal.pk, reason=data["reason"], **fixed
        )
        return Response(self.get_serializer(done).data)

    return type(
        name,
        (_WithdrawalObjectApi,),
        {"__doc__": doc, "post": post, "__module__": __name__, "required_permissions": {"POST": Perm.MONEY_APPROVE}},
    )


WithdrawalApproveApi = _decision(
    "WithdrawalApproveApi",
    "Approve (owner or finance); the payout starts.",
    withdrawals.withdrawal_approve,
    s.DecisionInput,
)
WithdrawalRejectApi = _decision(
    "WithdrawalRejectApi",
    "Reject with a reason; the money returns to available.",
    withdrawals.withdrawal_reject,
    s.RequiredReasonInput,
)
WithdrawalMarkPaidApi = _decision(
    "WithdrawalMarkPaidApi",
    "A manual payout went through (the bank paid).",
    withdrawals.withdrawal_mark,
    s.DecisionInput,
    paid=True,
)
WithdrawalMarkFailedApi = _decision(
    "WithdrawalMarkFailedApi",
    "A manual payout failed; the money returns.",
    withdrawals.withdrawal_mark,
    s.RequiredReasonInput,
    paid=False,
)


@extend_schema(tags=["withdrawals"])
class WithdrawalExportApi(MerchantApi):
    """Export every approved manual withdrawal not exported yet as a file for the bank (CSV, or XLSX with
    `?format=xlsx`); they become `processing` until marked paid or failed. The batch id is in the
    `X-Payout-Batch` header."""

    required_permissions = {"POST": Perm.MONEY_APPROVE}
    idempotent_methods = frozenset()  # each export is a new batch; the file is not kept for replays

    @extend_schema(
        request=None,
        parameters=[OpenApiParameter("format", str, enum=list(exports.FORMATS), description="csv (default) or xlsx.")],
        responses={(200, "text/csv"): FILE_RESPONSE, (200, exports.CONTENT_TYPES["xlsx"]): FILE_RESPONSE},
    )
    def post(self, request):
        output = file_format(self, default="csv", allowed=exports.FORMATS)
        batch, rows = withdrawals.withdrawals_export(merchant=self.merchant, actor=self.actor)
        response = exports.file_response(
            withdrawals.EXPORT_COLUMNS, rows, file_format=output, filename=f"payouts-{batch.pk if batch else 'empty'}"
        )
        response["X-Payout-Batch"] = str(batch.pk) if batch else ""
        return response


# --- the ledger, read-only ---------------------------------------------------------------------------------
@extend_schema(tags=["settlement"])
class LedgerTransactionListApi(ListMixin, MerchantApi):
    """Ledger transactions and their postings, newest first (every movement of money)."""

    model = LedgerTransaction
    serializer_class = s.LedgerTransactionOutput
    filterset_fields = ["kind", "reference"]
    required_permissions = {"GET": Perm.AUDIT_VIEW}

    def scope_queryset(self, queryset):
        return queryset.prefetch_related("postings__account")


# --- the distributor's own --------------------------------------------------------------------------------------
class _MeApi(DistributorApi):
    def me(self) -> Distributor:
        distributor = distributor_for_user(self.merchant, self.external_user_id)
        if distributor is None:
            raise NotADistributor()
        return distributor


@extend_schema(tags=["distributor"])
class MyBalanceApi(_MeApi):
    @extend_schema(responses={200: s.BalanceOutput})
    def get(self, request):
        return Response(
            s.BalanceOutput(balance_body(self.merchant, self.me().pk), context=self.get_serializer_context()).data
        )


@extend_schema(tags=["distributor"])
class MyWithdrawalListApi(ListMixin, _MeApi):
    """My withdrawals; POST asks for one (needs an Idempotency-Key: retry safely with the same key)."""

    model = Withdrawal
    serializer_class = s.WithdrawalOutput
    filterset_fields = ["status"]
    idempotency_required = True

    def scope_queryset(self, queryset):
        return queryset.filter(distributor=self.me())

    @extend_schema(request=s.WithdrawalInput, responses={201: s.WithdrawalOutput})
    def post(self, request):
        data = self.validate_input(s.WithdrawalInput)
        withdrawal = withdrawals.withdrawal_request(
            merchant=self.merchant, actor=self.actor, distributor=self.me(), amount=data["amount"]
        )
        return Response(self.get_serializer(withdrawal).data, status=201)


@extend_schema(tags=["distributor"], parameters=[FILE_FORMAT_PARAM])
class MyStatementApi(_MeApi):
    @extend_schema(responses=STATEMENT_RESPONSES)
    def get(self, request, month):
        return statement_response(self, self.me().pk, month)
