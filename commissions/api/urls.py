from django.urls import path

from commissions.api import views

urlpatterns = [
    path("commission-lines", views.CommissionLineListApi.as_view(), name="commission-line-list"),
    path("commission-lines/totals", views.CommissionTotalsApi.as_view(), name="commission-totals"),
    path(
        "distributors/<int:pk>/forfeit-commission",
        views.DistributorForfeitCommissionApi.as_view(),
        name="distributor-forfeit-commission",
    ),
]

distributor_urlpatterns = [
    path("commissions", views.MyCommissionLineListApi.as_view(), name="my-commission-lines"),
    path("commissions/totals", views.MyCommissionTotalsApi.as_view(), name="my-commission-totals"),
]
