from django.urls import path

from catalog.api import views

urlpatterns = [
    path("products", views.ProductListApi.as_view(), name="product-list"),
    path("products/<str:external_id>", views.ProductDetailApi.as_view(), name="product-detail"),
]
