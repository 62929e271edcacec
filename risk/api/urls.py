from django.urls import path

from risk.api import views

urlpatterns = [
    path("risk-flags", views.RiskFlagListApi.as_view(), name="risk-flag-list"),
    path("risk-flags/<int:pk>", views.RiskFlagDetailApi.as_view(), name="risk-flag-detail"),
    path("risk-flags/<int:pk>/review", views.RiskFlagReviewApi.as_view(), name="risk-flag-review"),
]
