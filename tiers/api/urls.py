from django.urls import path

from tiers.api import views

urlpatterns = [
    path("tier-runs", views.TierRunListApi.as_view(), name="tier-run-list"),
    path("tier-runs/<int:pk>", views.TierRunDetailApi.as_view(), name="tier-run-detail"),
]
