from __future__ import annotations

from typing import ClassVar

from django.db.models import Sum
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.response import Response

from distribution import exports
from distribution.api.filters import DateTimeFilter, FilterSet
from distribution.api.views import ListMixin, MerchantApi, ObjectActionApi, RetrieveMixin
from distribution.errors import ValidationFailed
from distribution.inputs import parse_month
from distributors.api.views.base import MyApi
from distributors.models import Distributor
from ledger import services as ledger
from ledger.models import LedgerTransaction
from merchants.roles import Perm
from settlements.api import serializers as s
from settlements.errors import SettlementInProgress
from settlements.filters import WithdrawalFilter
from settlements.models import PayoutBatch, SettlementRun, SplitRequest, Withdrawal
from settlements.services import payout_accounts, payouts, runs, statements, tax_reports, withdrawals

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


def balance_body(merchant, distributor_id: int | None) -> dict:
    """A distributor's balances; all zero for nobody (`None`)."""
    if distributor_id is None:
        return {"currency": merchant.currency, **dict.fromkeys(ledger.BALANCE_KINDS, 0)}
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
    """Settlement runs, newest first. POST asks for one now: it settles everything whose after-sales window
    ended by `as_of` (default: now). The answer is 202 with the run and its `Location`; a worker does the
    work and the run shows its progress. One run at a time: while one is pending or running, POST answers
    that run (its `as_of` says what it settles), as `POST /tier-runs` does."""

    model = SettlementRun
    serializer_class = s.SettlementRunOutput
    filterset_fields = ["status", "trigger"]
    required_permissions = {"POST": Perm.SETTLEMENT_RUN}

    @extend_schema(
        summary="Settle now",
        request=s.SettlementRequestInput,
        responses={202: s.SettlementRunOutput},
    )
    def post(self, request):
        data = self.validate_input(s.SettlementRequestInput)
        try:
            run = runs.settlement_request(merchant=self.merchant, actor=self.actor, as_of=data.get("as_of"))
        except SettlementInProgress as exc:
            if exc.extra.get("run") is None:  # the run in the way finished meanwhile: say so, do not guess
                raise
            run = SettlementRun.objects.for_merchant(self.merchant).get(pk=exc.extra["run"])
        return Response(
            self.get_serializer(run).data,
            status=202,
            headers={"Location": reverse("settlement-detail", kwargs={"pk": run.pk})},
        )


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
    reversed, clawed back, withdrawn, fees, tax, closing balance; and the month's paid withdrawals gross
    and net."""

    @extend_schema(responses=STATEMENT_RESPONSES)
    def get(self, request, pk, month):
        return statement_response(self, self.get_object().pk, month)


@extend_schema(tags=["settlement"])
class DistributorPayoutAccountApi(_DistributorObjectApi):
    """The merchant's server sets the distributor's WeChat openid (for splits and transfers): their WeChat
    payout account (GET /payout-accounts?kind=wechat). A blank openid removes it."""

    required_permissions = {"PUT": Perm.DISTRIBUTORS_MANAGE}

    @extend_schema(request=s.PayoutAccountInput, responses={200: s.PayoutAccountInput})
    def put(self, request, pk):
        distributor = self.get_object()
        data = self.validate_input(s.PayoutAccountInput)
        openid = payout_accounts.wechat_openid_set(
            merchant=self.merchant, actor=self.actor, distributor_id=distributor.pk, openid=data["openid"]
        )
        return Response({"openid": openid})


# --- profit-sharing splits ----------------------------------------------------------------------------------
class SplitFilter(FilterSet):
    deadline_before = DateTimeFilter(
        field_name="deadline_at", lookup_expr="lt", help_text="Splits whose payment's freeze period ends before this."
    )

    class Meta:
        model = SplitRequest
        fields = ["status", "run"]


@extend_schema(tags=["settlement"])
class SplitRequestListApi(ListMixin, MerchantApi):
    """The profit-sharing splits (WeChat Pay 分账), newest first, with the end of each payment's freeze
    period: `?status=processing&deadline_before=…` lists those at risk of missing it (what is not split in time
    returns to the available balance)."""

    model = SplitRequest
    serializer_class = s.SplitRequestOutput
    filterset_class = SplitFilter

    def scope_queryset(self, queryset):
        return (
            queryset.select_related("order")
            .prefetch_related("receivers")
            .annotate(amount_total=Coalesce(Sum("receivers__amount"), 0))
        )


# --- withdrawals --------------------------------------------------------------------------------------------
@extend_schema(tags=["withdrawals"])
class WithdrawalListApi(ListMixin, MerchantApi):
    model = Withdrawal
    serializer_class = s.WithdrawalOutput
    filterset_class = WithdrawalFilter


class _WithdrawalObjectApi(MerchantApi):
    model = Withdrawal
    serializer_class = s.WithdrawalOutput


@extend_schema(tags=["withdrawals"])
class WithdrawalDetailApi(RetrieveMixin, _WithdrawalObjectApi):
    pass


class _WithdrawalDecisionApi(ObjectActionApi, _WithdrawalObjectApi):
    """A decision service on one withdrawal (owner or finance); the answer is the withdrawal."""

    required_permissions = {"POST": Perm.MONEY_APPROVE}
    object_argument = "withdrawal_id"

    def answer(self, obj, result):
        return Response(self.get_serializer(result).data)


def _decision_schema(input_class):
    return extend_schema_view(
        post=extend_schema(request=input_class, responses={200: s.WithdrawalOutput}, tags=["withdrawals"])
    )


@_decision_schema(s.DecisionInput)
class WithdrawalApproveApi(_WithdrawalDecisionApi):
    """Approve (owner or finance); the payout starts."""

    service = staticmethod(withdrawals.withdrawal_approve)
    input_class = s.DecisionInput


@_decision_schema(s.RequiredReasonInput)
class WithdrawalRejectApi(_WithdrawalDecisionApi):
    """Reject with a reason; the money returns to available."""

    service = staticmethod(withdrawals.withdrawal_reject)
    input_class = s.RequiredReasonInput


@_decision_schema(s.DecisionInput)
class WithdrawalMarkPaidApi(_WithdrawalDecisionApi):
    """A manual payout went through (the bank paid)."""

    service = staticmethod(payouts.withdrawal_mark)
    input_class = s.DecisionInput
    service_arguments: ClassVar[dict] = {"paid": True}


@_decision_schema(s.RequiredReasonInput)
class WithdrawalMarkFailedApi(_WithdrawalDecisionApi):
    """A manual payout failed; the money returns."""

    service = staticmethod(payouts.withdrawal_mark)
    input_class = s.RequiredReasonInput
    service_arguments: ClassVar[dict] = {"paid": False}


@extend_schema(tags=["withdrawals"])
class WithdrawalExportApi(MerchantApi):
    """Export every approved manual withdrawal not exported yet as one payout batch, and its file for the bank
    (CSV, or XLSX with `?format=xlsx`): payee real name, card number, bank, branch, amount, purpose and our
    reference, every cell formula-escaped; they become `processing` until marked paid or failed (one by one or
    with `POST /payout-batches/{id}/results`). The export is audited as a download. The batch id is
    in the `X-Payout-Batch` header (empty when nothing was waiting). Send an `Idempotency-Key` to make a
    retry safe: the same key answers the same batch's file again. `GET /payout-batches/{id}/file` downloads
    any batch again."""

    required_permissions = {"POST": Perm.MONEY_APPROVE}
    idempotent_methods = frozenset()  # the key is the batch's own (a file is not a replayable JSON answer)

    @extend_schema(
        summary="Export approved withdrawals for the bank",
        request=None,
        parameters=[
            OpenApiParameter("format", str, enum=list(exports.FORMATS), description="csv (default) or xlsx."),
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="The same key answers the same batch again instead of exporting anew.",
            ),
        ],
        responses={(200, "text/csv"): FILE_RESPONSE, (200, exports.CONTENT_TYPES["xlsx"]): FILE_RESPONSE},
    )
    def post(self, request):
        output = file_format(self, default="csv", allowed=exports.FORMATS)
        key = request.headers.get("Idempotency-Key") or None
        if key is not None and not 1 <= len(key) <= 255:
            raise ValidationFailed(fields={"Idempotency-Key": ["At most 255 characters."]})
        batch = payouts.withdrawals_export(merchant=self.merchant, actor=self.actor, idempotency_key=key)
        if batch is None:
            empty = exports.to_xlsx if output == "xlsx" else exports.to_csv
            return batch_file(None, empty(payouts.EXPORT_COLUMNS, []), output)
        content = payouts.batch_content(merchant=self.merchant, batch=batch, file_format=output)  # audited: exported
        return batch_file(batch, content, output)


def batch_file(batch, content: bytes, output: str):
    response = HttpResponse(content, content_type=exports.CONTENT_TYPES[output])
    response["Content-Disposition"] = f'attachment; filename="payouts-{batch.pk if batch else "empty"}.{output}"'
    response["X-Payout-Batch"] = str(batch.pk) if batch else ""
    return response


@extend_schema(tags=["withdrawals"])
class PayoutBatchListApi(ListMixin, MerchantApi):
    """Payout batches (manual bank transfers), newest first: finance's record of every export."""

    model = PayoutBatch
    serializer_class = s.PayoutBatchOutput
    required_permissions = {"GET": Perm.MONEY_APPROVE}


@extend_schema(tags=["withdrawals"])
class PayoutBatchDetailApi(RetrieveMixin, MerchantApi):
    model = PayoutBatch
    serializer_class = s.PayoutBatchOutput
    required_permissions = {"GET": Perm.MONEY_APPROVE}


@extend_schema(tags=["withdrawals"])
class PayoutBatchFileApi(RetrieveMixin, MerchantApi):
    """A batch's file again (CSV, or XLSX with `?format=xlsx`): the same bytes as when it was exported. It holds
    card numbers in clear, so every download writes an audit event `payout_batch.file_downloaded`."""

    model = PayoutBatch
    required_permissions = {"GET": Perm.MONEY_APPROVE}

    @extend_schema(
        summary="Download a payout batch's file again",
        parameters=[OpenApiParameter("format", str, enum=list(exports.FORMATS), description="csv (default) or xlsx.")],
        responses={(200, "text/csv"): FILE_RESPONSE, (200, exports.CONTENT_TYPES["xlsx"]): FILE_RESPONSE},
    )
    def get(self, request, pk):
        output = file_format(self, default="csv", allowed=exports.FORMATS)
        batch = self.get_object()
        content = payouts.batch_file(merchant=self.merchant, actor=self.actor, batch=batch, file_format=output)
        return batch_file(batch, content, output)


# --- tax ------------------------------------------------------------------------------------------------------
@extend_schema(tags=["withdrawals"])
class TaxReportApi(MerchantApi):
    """The month's tax report for the filing (`YYYY-MM`, a tax month in Asia/Shanghai): per distributor paid,
    the real name and ID number, the income (withdrawals paid less fees), the taxable amount and tax due
    under the 劳务报酬 rule, and the tax withheld. CSV, or XLSX with `?format=xlsx`. The identities are shown
    unmasked, so only owner and finance may download it, and every download is audited."""

    required_permissions = {"GET": Perm.MONEY_APPROVE}

    @extend_schema(
        summary="Download a month's tax report",
        parameters=[OpenApiParameter("format", str, enum=list(exports.FORMATS), description="csv (default) or xlsx.")],
        responses={(200, "text/csv"): FILE_RESPONSE, (200, exports.CONTENT_TYPES["xlsx"]): FILE_RESPONSE},
    )
    def get(self, request, month):
        parse_month(month)
        output = file_format(self, default="csv", allowed=exports.FORMATS)
        rows = tax_reports.tax_report(merchant=self.merchant, actor=self.actor, month=month, file_format=output)
        return exports.file_response(
            tax_reports.TAX_REPORT_COLUMNS, rows, file_format=output, filename=f"tax-report-{month}"
        )


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
@extend_schema(tags=["distributor API"])
class MyBalanceApi(MyApi):
    """My balances. Someone who is not a distributor (yet) has none: zeros, as `/distributor/me` answers
    `status: none` for them rather than an error."""

    @extend_schema(responses={200: s.BalanceOutput})
    def get(self, request):
        distributor = self.me(required=False)
        body = balance_body(self.merchant, distributor.pk if distributor else None)
        return Response(s.BalanceOutput(body, context=self.get_serializer_context()).data)


@extend_schema(tags=["distributor API"])
class MyWithdrawalListApi(ListMixin, MyApi):
    """My withdrawals; POST asks for one (needs an Idempotency-Key: retry safely with the same key)."""

    model = Withdrawal
    serializer_class = s.MyWithdrawalOutput
    filterset_fields = ["status"]
    idempotency_required = True

    def scope_queryset(self, queryset):
        return queryset.filter(distributor=self.me())

    @extend_schema(
        request=s.WithdrawalInput,
        responses={201: s.WithdrawalOutput},
        examples=[OpenApiExample("Thirty yuan", request_only=True, value={"amount": "30.00"})],
    )
    def post(self, request):
        data = self.validate_input(s.WithdrawalInput)
        withdrawal = withdrawals.withdrawal_request(
            merchant=self.merchant,
            actor=self.actor,
            distributor=self.me(),
            amount=data["amount"],
            payout_account_id=data.get("payout_account"),
        )
        return Response(self.get_serializer(withdrawal).data, status=201)


@extend_schema(tags=["distributor API"])
class MyWithdrawalDetailApi(RetrieveMixin, MyApi):
    """One of my withdrawals. When WeChat Pay waits for me to confirm the transfer (`provider_state`
    `WAIT_USER_CONFIRM`), `confirmation` holds `mch_id`, `app_id` and `package` for
    wx.requestMerchantTransfer({mchId, appId, package}); unconfirmed, WeChat closes the bill after about a
    day and the money returns to my available balance."""

    model = Withdrawal
    serializer_class = s.MyWithdrawalOutput

    def scope_queryset(self, queryset):
        return queryset.filter(distributor=self.me())

    @extend_schema(summary="One of my withdrawals, with what confirming its transfer needs")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["distributor API"], parameters=[FILE_FORMAT_PARAM])
class MyStatementApi(MyApi):
    @extend_schema(responses=STATEMENT_RESPONSES)
    def get(self, request, month):
        return statement_response(self, self.me().pk, month)
