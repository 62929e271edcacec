"""Payout accounts (the distributor's own, and the merchant's masked view with an audited clear one) and the
bank's result file for a payout batch."""

from __future__ import annotations

import base64
import binascii

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework.response import Response

from distribution.api.views import ListMixin, MerchantApi, ObjectActionApi, RetrieveMixin
from distribution.errors import ValidationFailed
from distributors.api.views.base import MyApi
from merchants.roles import Perm
from settlements.api import serializers as s
from settlements.models import PayoutAccount, PayoutBatch
from settlements.services import bank_results, payout_accounts

ACCOUNT_FILTERS = ["distributor", "kind", "verification", "is_default"]


# --- the merchant's ---------------------------------------------------------------------------------------------
@extend_schema(tags=["withdrawals"])
class PayoutAccountListApi(ListMixin, MerchantApi):
    """Every live payout account of the merchant's distributors, masked."""

    model = PayoutAccount
    serializer_class = s.PayoutAccountOutput
    filterset_fields = ACCOUNT_FILTERS

    def scope_queryset(self, queryset):
        return queryset.filter(removed_at__isnull=True).order_by("-pk")


@extend_schema(tags=["withdrawals"])
class PayoutAccountDetailApi(RetrieveMixin, MerchantApi):
    """One payout account, masked (a removed one too: withdrawals name it)."""

    model = PayoutAccount
    serializer_class = s.PayoutAccountOutput


@extend_schema(tags=["withdrawals"])
class PayoutAccountUnmaskedApi(MerchantApi):
    """The account's number and holder's name in clear, for finance (owner or finance). Every call writes an
    audit event `payout_account.revealed` (who, when, which account)."""

    model = PayoutAccount
    required_permissions = {"GET": Perm.MONEY_APPROVE}

    @extend_schema(summary="Show a payout account unmasked (audited)", responses={200: s.PayoutAccountUnmaskedOutput})
    def get(self, request, pk):
        account = self.get_object()
        revealed = payout_accounts.payout_account_reveal(
            merchant=self.merchant, actor=self.actor, account_id=account.pk
        )
        return Response(s.PayoutAccountUnmaskedOutput(revealed, context=self.get_serializer_context()).data)


@extend_schema_view(
    post=extend_schema(request=s.RequiredReasonInput, responses={200: s.PayoutAccountOutput}, tags=["withdrawals"])
)
class PayoutAccountApproveMismatchApi(ObjectActionApi):
    """Accept an account whose holder's name differs from the distributor's verified identity (owner or
    finance), with the reason; it can then be paid to."""

    model = PayoutAccount
    serializer_class = s.PayoutAccountOutput
    required_permissions = {"POST": Perm.MONEY_APPROVE}
    service = staticmethod(payout_accounts.payout_account_approve_mismatch)
    input_class = s.RequiredReasonInput
    object_argument = "account_id"

    def answer(self, obj, result):
        return Response(self.get_serializer(result).data)


@extend_schema(tags=["withdrawals"])
class PayoutBatchResultsApi(MerchantApi):
    """The bank's result file for this batch (CSV or XLSX, base64 in `content`; columns `reference`, `status`,
    `reason`, optional `amount`). With `dry_run: true` every row is checked and reported and nothing changes;
    with `dry_run: false` the whole file is applied (lines paid, or failed with their money back to
    available), or nothing when any row has a problem (422 `result_file_problems` with the report). Rows that
    repeat a recorded outcome are `unchanged`, so the same file can be imported twice."""

    model = PayoutBatch
    required_permissions = {"POST": Perm.MONEY_APPROVE}

    @extend_schema(
        summary="Import the bank's result file",
        request=s.BankResultInput,
        responses={200: s.BankResultReportOutput},
        examples=[
            OpenApiExample(
                "Dry run",
                request_only=True,
                value={"format": "csv", "content": "cmVmZXJlbmNlLHN0YXR1cyxyZWFzb24KVzFYMSxwYWlkLAo=", "dry_run": True},
            )
        ],
    )
    def post(self, request, pk):
        batch = self.get_object()
        data = self.validate_input(s.BankResultInput)
        try:
            content = base64.b64decode(data["content"], validate=True)
        except (binascii.Error, ValueError):
            raise ValidationFailed(fields={"content": ["Not base64."]}) from None
        report = bank_results.payout_batch_import_results(
            merchant=self.merchant,
            actor=self.actor,
            batch_id=batch.pk,
            content=content,
            file_format=data["format"],
            dry_run=data["dry_run"],
        )
        return Response(s.BankResultReportOutput(report).data)


# --- the distributor's own -----------------------------------------------------------------------------------
class _MyAccountsApi(MyApi):
    model = PayoutAccount
    serializer_class = s.PayoutAccountOutput

    def scope_queryset(self, queryset):
        return queryset.filter(distributor=self.me(), removed_at__isnull=True).order_by("-is_default", "-pk")


@extend_schema(tags=["distributor API"])
class MyPayoutAccountListApi(ListMixin, _MyAccountsApi):
    """My payout accounts (masked), the default first. POST adds a bank card or an Alipay account; its holder's
    name is checked against my verified identity at once (`verification`)."""

    filterset_fields = ["kind"]

    @extend_schema(
        request=s.PayoutAccountAddInput,
        responses={201: s.PayoutAccountOutput},
        examples=[
            OpenApiExample(
                "A bank card",
                request_only=True,
                value={
                    "kind": "bank_card",
                    "identity": "6222021234567890123",
                    "real_name": "王小波",
                    "bank_name": "中国工商银行",
                    "bank_branch": "北京西单支行",
                },
            )
        ],
    )
    def post(self, request):
        data = self.validate_input(s.PayoutAccountAddInput)
        account = payout_accounts.payout_account_add(
            merchant=self.merchant, actor=self.actor, distributor_id=self.me().pk, **data
        )
        return Response(self.get_serializer(account).data, status=201)


@extend_schema(tags=["distributor API"])
class MyPayoutAccountDetailApi(RetrieveMixin, _MyAccountsApi):
    """One of my payout accounts; DELETE removes it (withdrawals already requested are still paid to it)."""

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        account = self.get_object()
        payout_accounts.payout_account_remove(
            merchant=self.merchant, actor=self.actor, account_id=account.pk, distributor_id=account.distributor_id
        )
        return Response(status=204)


@extend_schema(tags=["distributor API"])
class MyPayoutAccountVerifyApi(_MyAccountsApi):
    """Check the account's holder's name against my verified identity again (after the merchant verified it):
    `verified` when they match, `mismatch` (for the merchant to approve or not) when they differ."""

    @extend_schema(request=None, responses={200: s.PayoutAccountOutput})
    def post(self, request, pk):
        account = self.get_object()
        account = payout_accounts.payout_account_verify(
            merchant=self.merchant, actor=self.actor, account_id=account.pk, distributor_id=account.distributor_id
        )
        return Response(self.get_serializer(account).data)


@extend_schema(tags=["distributor API"])
class MyPayoutAccountDefaultApi(_MyAccountsApi):
    """Make this account my default (what a withdrawal pays to when it names none)."""

    @extend_schema(request=None, responses={200: s.PayoutAccountOutput})
    def post(self, request, pk):
        account = self.get_object()
        account = payout_accounts.payout_account_set_default(
            merchant=self.merchant, actor=self.actor, account_id=account.pk, distributor_id=account.distributor_id
        )
        return Response(self.get_serializer(account).data)
