from django.urls import path

from distributors.api import views

urlpatterns = [
    path("distributor-tokens", views.DistributorTokenListApi.as_view(), name="distributor-token-list"),
    path(
        "distributor-tokens/revoke-user",
        views.DistributorTokenRevokeUserApi.as_view(),
        name="distributor-token-revoke-user",
    ),
    path("distributor-tokens/<str:prefix>", views.DistributorTokenDetailApi.as_view(), name="distributor-token-detail"),
    path(
        "distributor-tokens/<str:prefix>/revoke",
        views.DistributorTokenRevokeApi.as_view(),
        name="distributor-token-revoke",
    ),
]

distributor_urlpatterns = [
    path("me", views.DistributorMeApi.as_view(), name="distributor-me"),
]
