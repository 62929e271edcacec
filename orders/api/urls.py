from django.urls import path

from orders.api import views

urlpatterns = [
    path("orders", views.OrderListApi.as_view(), name="order-list"),
    path("orders/<str:external_id>", views.OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<str:external_id>/events", views.OrderEventApi.as_view(), name="order-events"),
    path("webhook-endpoint", views.WebhookEndpointApi.as_view(), name="webhook-endpoint"),
    path("webhook-endpoint/rotate-secret", views.WebhookSecretRotateApi.as_view(), name="webhook-rotate"),
    path("webhooks/orders/<str:public_id>", views.OrderWebhookApi.as_view(), name="order-webhook"),
]

distributor_urlpatterns = [
    path("orders", views.MyOrderListApi.as_view(), name="my-orders"),
]
