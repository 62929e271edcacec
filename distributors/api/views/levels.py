"""Levels (分销等级): the merchant defines them; the tier runs move distributors between them."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from distribution.api.pagination import CursorPagination
from distribution.api.views import ListMixin, MerchantApi, RetrieveMixin
from distributors.api.serializers.levels import LevelSerializer
from distributors.models import Level
from distributors.services import levels
from merchants.roles import Perm


class LevelPagination(CursorPagination):
    ordering = "rank"  # unique within the merchant: a stable cursor


@extend_schema(tags=["tiers and risk"])
class LevelListApi(ListMixin, MerchantApi):
    """Levels (分销等级), lowest rank first. The first level created is the default for new distributors."""

    model = Level
    serializer_class = LevelSerializer
    pagination_class = LevelPagination
    required_permissions = {"POST": Perm.PROGRAM_MANAGE}

    @extend_schema(request=LevelSerializer, responses={201: LevelSerializer})
    def post(self, request):
        data = self.validate_input(LevelSerializer)
        level = levels.level_create(merchant=self.merchant, actor=self.actor, data=dict(data))
        return Response(self.get_serializer(level).data, status=201)


@extend_schema(tags=["tiers and risk"])
class LevelDetailApi(RetrieveMixin, MerchantApi):
    model = Level
    serializer_class = LevelSerializer
    required_permissions = {"PATCH": Perm.PROGRAM_MANAGE, "DELETE": Perm.PROGRAM_MANAGE}

    @extend_schema(request=LevelSerializer, responses={200: LevelSerializer})
    def patch(self, request, pk):
        level = self.get_object()
        data = self.validate_input(LevelSerializer, partial=True)
        level = levels.level_update(merchant=self.merchant, actor=self.actor, level_id=level.pk, changes=dict(data))
        return Response(self.get_serializer(level).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        levels.level_delete(merchant=self.merchant, actor=self.actor, level_id=self.get_object().pk)
        return Response(status=204)
