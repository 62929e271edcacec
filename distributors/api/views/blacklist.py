"""The blacklist (黑名单): adding an entry blacklists the distributors it matches; removing one keeps it."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from distribution.api.views import ListMixin, MerchantApi, RetrieveMixin
from distributors.api.serializers.blacklist import BlacklistAddedOutput, BlacklistInput, BlacklistOutput
from distributors.api.views.base import MANAGE
from distributors.models import BlacklistEntry
from distributors.services import blacklist


@extend_schema(tags=["tiers and risk"])
class BlacklistListApi(ListMixin, MerchantApi):
    """The blacklist (黑名单). Adding an entry blacklists every distributor it matches at once."""

    model = BlacklistEntry
    serializer_class = BlacklistOutput
    filterset_fields = ["kind", "distributor"]
    required_permissions = {"POST": MANAGE}

    def scope_queryset(self, queryset):
        return queryset.select_related("distributor")

    @extend_schema(request=BlacklistInput, responses={201: BlacklistAddedOutput})
    def post(self, request):
        data = self.validate_input(BlacklistInput)
        entry, affected = blacklist.blacklist_add(
            merchant=self.merchant,
            actor=self.actor,
            kind=data["kind"],
            value=data["value"],
            distributor_id=data["distributor"].pk if data["distributor"] else None,
            reason=data["reason"],
            expires_at=data["expires_at"],
        )
        entry.blacklisted_distributors = affected
        return Response(BlacklistAddedOutput(entry).data, status=201)


@extend_schema(tags=["tiers and risk"])
class BlacklistDetailApi(RetrieveMixin, MerchantApi):
    """DELETE takes the entry off the list (kept for the record); it reactivates no one."""

    model = BlacklistEntry
    serializer_class = BlacklistOutput
    required_permissions = {"DELETE": MANAGE}

    @extend_schema(responses={200: BlacklistOutput})
    def delete(self, request, pk):
        entry = blacklist.blacklist_remove(merchant=self.merchant, actor=self.actor, entry_id=self.get_object().pk)
        return Response(BlacklistOutput(entry).data)
