from django.urls import path

from distributors.api import views as v

urlpatterns = [
    path("distributor-tokens", v.DistributorTokenListApi.as_view(), name="distributor-token-list"),
    path(
        "distributor-tokens/revoke-user",
        v.DistributorTokenRevokeUserApi.as_view(),
        name="distributor-token-revoke-user",
    ),
    path("distributor-tokens/<str:prefix>", v.DistributorTokenDetailApi.as_view(), name="distributor-token-detail"),
    path(
        "distributor-tokens/<str:prefix>/revoke", v.DistributorTokenRevokeApi.as_view(), name="distributor-token-revoke"
    ),
    path("distributors", v.DistributorListApi.as_view(), name="distributor-list"),
    path("distributors/<int:pk>", v.DistributorDetailApi.as_view(), name="distributor-detail"),
    path("distributors/<int:pk>/freeze", v.DistributorFreezeApi.as_view(), name="distributor-freeze"),
    path("distributors/<int:pk>/unfreeze", v.DistributorUnfreezeApi.as_view(), name="distributor-unfreeze"),
    path("distributors/<int:pk>/reactivate", v.DistributorReactivateApi.as_view(), name="distributor-reactivate"),
    path("distributors/<int:pk>/remove", v.DistributorRemoveApi.as_view(), name="distributor-remove"),
    path("distributors/<int:pk>/level", v.DistributorSetLevelApi.as_view(), name="distributor-level"),
    path(
        "distributors/<int:pk>/level-history", v.DistributorLevelHistoryApi.as_view(), name="distributor-level-history"
    ),
    path(
        "distributors/<int:pk>/forfeit-commission",
        v.DistributorForfeitCommissionApi.as_view(),
        name="distributor-forfeit-commission",
    ),
    path("distributors/<int:pk>/inviter", v.DistributorChangeInviterApi.as_view(), name="distributor-inviter"),
    path("distributors/<int:pk>/identity", v.DistributorIdentityApi.as_view(), name="distributor-identity"),
    path(
        "distributors/<int:pk>/identity/verify",
        v.DistributorIdentityVerifyApi.as_view(),
        name="distributor-identity-verify",
    ),
    path("distributors/<int:pk>/team", v.DistributorTeamApi.as_view(), name="distributor-team"),
    path("distributors/<int:pk>/customers", v.DistributorCustomersApi.as_view(), name="distributor-customers"),
    path("applications", v.ApplicationListApi.as_view(), name="application-list"),
    path("applications/<int:pk>", v.ApplicationDetailApi.as_view(), name="application-detail"),
    path("applications/<int:pk>/approve", v.ApplicationApproveApi.as_view(), name="application-approve"),
    path("applications/<int:pk>/reject", v.ApplicationRejectApi.as_view(), name="application-reject"),
    path("recruitment-entries", v.RecruitmentEntryListApi.as_view(), name="recruitment-entry-list"),
    path("recruitment-entries/<int:pk>", v.RecruitmentEntryDetailApi.as_view(), name="recruitment-entry-detail"),
    path("agreements", v.AgreementListApi.as_view(), name="agreement-list"),
    path("agreements/<int:pk>", v.AgreementDetailApi.as_view(), name="agreement-detail"),
    path("levels", v.LevelListApi.as_view(), name="level-list"),
    path("levels/<int:pk>", v.LevelDetailApi.as_view(), name="level-detail"),
    path("tier-runs", v.TierRunListApi.as_view(), name="tier-run-list"),
    path("tier-runs/<int:pk>", v.TierRunDetailApi.as_view(), name="tier-run-detail"),
    path("bindings", v.BindingListApi.as_view(), name="binding-list"),
    path("bindings/transfer", v.BindingTransferApi.as_view(), name="binding-transfer"),
    path("customers/<str:customer_external_id>/binding", v.CustomerBindingApi.as_view(), name="customer-binding"),
    path("visits", v.VisitApi.as_view(), name="visit"),
    path("blacklist", v.BlacklistListApi.as_view(), name="blacklist-list"),
    path("blacklist/<int:pk>", v.BlacklistDetailApi.as_view(), name="blacklist-detail"),
]

distributor_urlpatterns = [
    path("me", v.DistributorMeApi.as_view(), name="distributor-me"),
    path("apply", v.DistributorApplyApi.as_view(), name="distributor-apply"),
    path("invite", v.DistributorInviteApi.as_view(), name="distributor-invite"),
    path("team", v.DistributorMyTeamApi.as_view(), name="distributor-my-team"),
    path("customers", v.DistributorMyCustomersApi.as_view(), name="distributor-my-customers"),
    path("identity", v.DistributorMyIdentityApi.as_view(), name="distributor-my-identity"),
    path("agreement", v.DistributorAgreementApi.as_view(), name="distributor-agreement"),
    path("level-history", v.DistributorMyLevelHistoryApi.as_view(), name="distributor-my-level-history"),
]
