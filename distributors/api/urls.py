from django.urls import path

from distributors.api.views import (
    applications,
    bindings,
    blacklist,
    distributors,
    levels,
    me,
    recruitment,
    tokens,
)

urlpatterns = [
    path("distributor-tokens", tokens.DistributorTokenListApi.as_view(), name="distributor-token-list"),
    path(
        "distributor-tokens/revoke-user",
        tokens.DistributorTokenRevokeUserApi.as_view(),
        name="distributor-token-revoke-user",
    ),
    path(
        "distributor-tokens/<str:prefix>", tokens.DistributorTokenDetailApi.as_view(), name="distributor-token-detail"
    ),
    path(
        "distributor-tokens/<str:prefix>/revoke",
        tokens.DistributorTokenRevokeApi.as_view(),
        name="distributor-token-revoke",
    ),
    path("distributors", distributors.DistributorListApi.as_view(), name="distributor-list"),
    path("distributors/<int:pk>", distributors.DistributorDetailApi.as_view(), name="distributor-detail"),
    path("distributors/<int:pk>/freeze", distributors.DistributorFreezeApi.as_view(), name="distributor-freeze"),
    path("distributors/<int:pk>/unfreeze", distributors.DistributorUnfreezeApi.as_view(), name="distributor-unfreeze"),
    path(
        "distributors/<int:pk>/reactivate",
        distributors.DistributorReactivateApi.as_view(),
        name="distributor-reactivate",
    ),
    path("distributors/<int:pk>/remove", distributors.DistributorRemoveApi.as_view(), name="distributor-remove"),
    path("distributors/<int:pk>/level", distributors.DistributorSetLevelApi.as_view(), name="distributor-level"),
    path(
        "distributors/<int:pk>/level-history",
        distributors.DistributorLevelHistoryApi.as_view(),
        name="distributor-level-history",
    ),
    path(
        "distributors/<int:pk>/inviter", distributors.DistributorChangeInviterApi.as_view(), name="distributor-inviter"
    ),
    path("distributors/<int:pk>/identity", distributors.DistributorIdentityApi.as_view(), name="distributor-identity"),
    path(
        "distributors/<int:pk>/identity/verify",
        distributors.DistributorIdentityVerifyApi.as_view(),
        name="distributor-identity-verify",
    ),
    path("distributors/<int:pk>/team", distributors.DistributorTeamApi.as_view(), name="distributor-team"),
    path(
        "distributors/<int:pk>/customers",
        distributors.DistributorCustomersApi.as_view(),
        name="distributor-customers",
    ),
    path("applications", applications.ApplicationListApi.as_view(), name="application-list"),
    path("applications/<int:pk>", applications.ApplicationDetailApi.as_view(), name="application-detail"),
    path("applications/<int:pk>/approve", applications.ApplicationApproveApi.as_view(), name="application-approve"),
    path("applications/<int:pk>/reject", applications.ApplicationRejectApi.as_view(), name="application-reject"),
    path("recruitment-entries", recruitment.RecruitmentEntryListApi.as_view(), name="recruitment-entry-list"),
    path(
        "recruitment-entries/<int:pk>",
        recruitment.RecruitmentEntryDetailApi.as_view(),
        name="recruitment-entry-detail",
    ),
    path("agreements", recruitment.AgreementListApi.as_view(), name="agreement-list"),
    path("agreements/<int:pk>", recruitment.AgreementDetailApi.as_view(), name="agreement-detail"),
    path("levels", levels.LevelListApi.as_view(), name="level-list"),
    path("levels/<int:pk>", levels.LevelDetailApi.as_view(), name="level-detail"),
    path("bindings", bindings.BindingListApi.as_view(), name="binding-list"),
    path("bindings/transfer", bindings.BindingTransferApi.as_view(), name="binding-transfer"),
    path(
        "customers/<str:customer_external_id>/binding",
        bindings.CustomerBindingApi.as_view(),
        name="customer-binding",
    ),
    path("visits", bindings.VisitApi.as_view(), name="visit"),
    path("blacklist", blacklist.BlacklistListApi.as_view(), name="blacklist-list"),
    path("blacklist/<int:pk>", blacklist.BlacklistDetailApi.as_view(), name="blacklist-detail"),
]

distributor_urlpatterns = [
    path("me", me.DistributorMeApi.as_view(), name="distributor-me"),
    path("apply", me.DistributorApplyApi.as_view(), name="distributor-apply"),
    path("invite", me.DistributorInviteApi.as_view(), name="distributor-invite"),
    path("team", me.DistributorMyTeamApi.as_view(), name="distributor-my-team"),
    path("customers", me.DistributorMyCustomersApi.as_view(), name="distributor-my-customers"),
    path("identity", me.DistributorMyIdentityApi.as_view(), name="distributor-my-identity"),
    path("agreement", me.DistributorAgreementApi.as_view(), name="distributor-agreement"),
    path("level-history", me.DistributorMyLevelHistoryApi.as_view(), name="distributor-my-level-history"),
]
