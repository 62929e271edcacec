from django.urls import path

from catalog.api import views

urlpatterns = [
    path("categories", views.CategoryListApi.as_view(), name="category-list"),
    path("categories/<str:external_id>", views.CategoryDetailApi.as_view(), name="category-detail"),
    path("products", views.ProductListApi.as_view(), name="product-list"),
    path("products/<str:external_id>", views.ProductDetailApi.as_view(), name="product-detail"),
]
