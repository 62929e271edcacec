from django.urls import path

from settlements.api import accounts as a
from settlements.api import notifications
from settlements.api import views as v

urlpatterns = [
    path("settlements", v.SettlementRunListApi.as_view(), name="settlement-list"),
    path("settlements/<int:pk>", v.SettlementRunDetailApi.as_view(), name="settlement-detail"),
    path("splits", v.SplitRequestListApi.as_view(), name="split-list"),
    path("distributors/<int:pk>/balance", v.DistributorBalanceApi.as_view(), name="distributor-balance"),
    path(
        "distributors/<int:pk>/statements/<str:month>",
        v.DistributorStatementApi.as_view(),
        name="distributor-statement",
    ),
    path(
        "distributors/<int:pk>/payout-account",
        v.DistributorPayoutAccountApi.as_view(),
        name="distributor-payout-account",
    ),
    path("withdrawals", v.WithdrawalListApi.as_view(), name="withdrawal-list"),
    path("withdrawals/export", v.WithdrawalExportApi.as_view(), name="withdrawal-export"),
    path("payout-batches", v.PayoutBatchListApi.as_view(), name="payout-batch-list"),
    path("payout-batches/<int:pk>", v.PayoutBatchDetailApi.as_view(), name="payout-batch-detail"),
    path("payout-batches/<int:pk>/file", v.PayoutBatchFileApi.as_view(), name="payout-batch-file"),
    path("payout-batches/<int:pk>/results", a.PayoutBatchResultsApi.as_view(), name="payout-batch-results"),
    path("payout-accounts", a.PayoutAccountListApi.as_view(), name="payout-account-list"),
    path("payout-accounts/<int:pk>", a.PayoutAccountDetailApi.as_view(), name="payout-account-detail"),
    path("payout-accounts/<int:pk>/unmasked", a.PayoutAccountUnmaskedApi.as_view(), name="payout-account-unmasked"),
    path(
        "payout-accounts/<int:pk>/approve-mismatch",
        a.PayoutAccountApproveMismatchApi.as_view(),
        name="payout-account-approve-mismatch",
    ),
    path("withdrawals/<int:pk>", v.WithdrawalDetailApi.as_view(), name="withdrawal-detail"),
    path("withdrawals/<int:pk>/approve", v.WithdrawalApproveApi.as_view(), name="withdrawal-approve"),
    path("withdrawals/<int:pk>/reject", v.WithdrawalRejectApi.as_view(), name="withdrawal-reject"),
    path("withdrawals/<int:pk>/mark-paid", v.WithdrawalMarkPaidApi.as_view(), name="withdrawal-mark-paid"),
    path("withdrawals/<int:pk>/mark-failed", v.WithdrawalMarkFailedApi.as_view(), name="withdrawal-mark-failed"),
    path("tax-reports/<str:month>", v.TaxReportApi.as_view(), name="tax-report"),
    path("ledger/transactions", v.LedgerTransactionListApi.as_view(), name="ledger-transactions"),
    path(
        "webhooks/wechatpay/<int:account_id>/transfers",
        notifications.WechatPayTransferNotifyApi.as_view(),
        name="wechatpay-transfer-notify",
    ),
]

distributor_urlpatterns = [
    path("balance", v.MyBalanceApi.as_view(), name="my-balance"),
    path("withdrawals", v.MyWithdrawalListApi.as_view(), name="my-withdrawals"),
    path("withdrawals/<int:pk>", v.MyWithdrawalDetailApi.as_view(), name="my-withdrawal-detail"),
    path("statements/<str:month>", v.MyStatementApi.as_view(), name="my-statement"),
    path("payout-accounts", a.MyPayoutAccountListApi.as_view(), name="my-payout-accounts"),
    path("payout-accounts/<int:pk>", a.MyPayoutAccountDetailApi.as_view(), name="my-payout-account"),
    path("payout-accounts/<int:pk>/verify", a.MyPayoutAccountVerifyApi.as_view(), name="my-payout-account-verify"),
    path("payout-accounts/<int:pk>/default", a.MyPayoutAccountDefaultApi.as_view(), name="my-payout-account-default"),
]
