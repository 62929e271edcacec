from django.contrib import admin

from distributors import services
from distributors.models import DistributorToken
from merchants.admin import CredentialAdmin, operator


@admin.register(DistributorToken)
class DistributorTokenAdmin(CredentialAdmin):
    list_display = ["prefix", "merchant", "external_user_id", "created", "expiry_date", "revoked", "last_used_at"]
    search_fields = ["prefix", "external_user_id", "merchant__slug"]

    def revoke_one(self, request, obj) -> None:
        services.distributor_token_revoke(merchant=obj.merchant, actor=operator(request), token_id=obj.pk)
