"""A test-only endpoint that forgets its merchant filter on purpose: it reads every tenant table with no
merchant condition at all (the ORM's unscoped() and raw SQL), so the test can show what the database
itself lets through."""

from django.db import connection, transaction
from django.urls import path
from rest_framework.response import Response

from catalog.models import Product
from distribution import rls
from distribution.api.views import MerchantApi
from merchants.models import Merchant
from tests.security import rls_probe


class ForgetfulApi(MerchantApi):
    required_permissions = {"POST": "view"}

    def get(self, request):
        return Response(rls_probe.visible_merchants())

    def post(self, request):
        """Try to write into another merchant: insert a product for it and rename its products."""
        other = int(request.data["other"])
        with connection.cursor() as cursor:
            cursor.execute("UPDATE orders_product SET title = 'taken' WHERE merchant_id = %s", [other])
            updated = cursor.rowcount
        merchants_seen = list(Merchant.objects.values_list("pk", flat=True))
        try:
            with transaction.atomic():
                Product.objects.create(merchant_id=other, external_id="planted", title="x", price=1)
            planted = True
        except Exception as exc:  # the policy's WITH CHECK refuses it
            planted = type(exc).__name__
        return Response(
            {"updated": updated, "planted": planted, "merchants": merchants_seen, "state": list(rls.current())}
        )


urlpatterns = [path("forgetful", ForgetfulApi.as_view())]
