from django.urls import path

from merchants.api import platform as v

urlpatterns = [
    path("merchants", v.PlatformMerchantListApi.as_view(), name="platform-merchant-list"),
    path("merchants/<int:pk>", v.PlatformMerchantDetailApi.as_view(), name="platform-merchant-detail"),
    path("merchants/<int:pk>/suspend", v.PlatformMerchantSuspendApi.as_view(), name="platform-merchant-suspend"),
    path(
        "merchants/<int:pk>/reactivate", v.PlatformMerchantReactivateApi.as_view(), name="platform-merchant-reactivate"
    ),
]
