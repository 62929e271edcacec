from django.urls import path

from exports.api import views

urlpatterns = [
    path("exports/distributors", views.DistributorsExportApi.as_view(), name="export-distributors"),
    path("exports/commission-lines", views.CommissionLinesExportApi.as_view(), name="export-commission-lines"),
    path("exports/orders", views.OrdersExportApi.as_view(), name="export-orders"),
    path("exports/withdrawals", views.WithdrawalsExportApi.as_view(), name="export-withdrawals"),
    path("exports/daily-figures", views.DailyFiguresExportApi.as_view(), name="export-daily-figures"),
    path("exports/jobs", views.ExportJobListApi.as_view(), name="export-job-list"),
    path("exports/jobs/<int:pk>", views.ExportJobDetailApi.as_view(), name="export-job-detail"),
    path("exports/jobs/<int:pk>/download", views.ExportJobDownloadApi.as_view(), name="export-job-download"),
]
