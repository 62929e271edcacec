from django.urls import path

from analytics.api import views

urlpatterns = [
    path("analytics/summary", views.SummaryApi.as_view(), name="analytics-summary"),
    path("analytics/timeseries", views.TimeseriesApi.as_view(), name="analytics-timeseries"),
    path("analytics/leaderboard", views.LeaderboardApi.as_view(), name="analytics-leaderboard"),
    path("analytics/funnel", views.FunnelApi.as_view(), name="analytics-funnel"),
    path("analytics/repurchase", views.RepurchaseApi.as_view(), name="analytics-repurchase"),
    path("analytics/buyers", views.BuyersApi.as_view(), name="analytics-buyers"),
    path(
        "analytics/distributors/activity",
        views.DistributorActivityApi.as_view(),
        name="analytics-distributor-activity",
    ),
    path("analytics/teams/<int:pk>", views.TeamPerformanceApi.as_view(), name="analytics-team"),
]

distributor_urlpatterns = [
    path("stats", views.MyStatsApi.as_view(), name="distributor-stats"),
    path("leaderboard", views.MyLeaderboardApi.as_view(), name="distributor-leaderboard"),
    path(
        "leaderboard/participation",
        views.MyLeaderboardParticipationApi.as_view(),
        name="distributor-leaderboard-participation",
    ),
]
