"""Recruitment entries (招募入口) with how many applied through each, and the agreement's versions."""

from __future__ import annotations

from django.db.models import Count, Q
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from distribution.api.views import ListMixin, MerchantApi, RetrieveMixin
from distributors.api.serializers.recruitment import (
    AgreementSerializer,
    RecruitmentEntryInput,
    RecruitmentEntryOutput,
    RecruitmentEntryUpdateInput,
)
from distributors.api.views.base import MANAGE, program_of
from distributors.models import Agreement, Application, RecruitmentEntry
from distributors.services import recruitment
from merchants.roles import Perm


class _EntryApi(MerchantApi):
    model = RecruitmentEntry
    serializer_class = RecruitmentEntryOutput

    def scope_queryset(self, queryset):
        return queryset.select_related("product")

    def entry_data(self, entries):
        program = program_of(self.merchant)
        ids = [e.pk for e in entries]
        counts = {
            row["entry"]: row
            for row in Application.objects.for_merchant(self.merchant)
            .filter(entry__in=ids)
            .values("entry")
            .annotate(applications=Count("id"), approved=Count("id", filter=Q(status=Application.Status.APPROVED)))
        }
        for entry in entries:
            entry.link = recruitment.entry_link(program, entry)
            entry.applications = counts.get(entry.pk, {}).get("applications", 0)
            entry.approved = counts.get(entry.pk, {}).get("approved", 0)
        return entries


@extend_schema(tags=["recruitment"])
class RecruitmentEntryListApi(ListMixin, _EntryApi):
    """Recruitment entries (招募入口): links on the shop home page or a product that record where a
    recruit came from, with how many applied through each."""

    filterset_fields = ["kind", "is_active"]
    required_permissions = {"POST": MANAGE}

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(self.entry_data(page), many=True).data)

    @extend_schema(request=RecruitmentEntryInput, responses={201: RecruitmentEntryOutput})
    def post(self, request):
        data = self.validate_input(RecruitmentEntryInput)
        entry = recruitment.entry_create(merchant=self.merchant, actor=self.actor, **data)
        return Response(self.get_serializer(self.entry_data([entry])[0]).data, status=201)


@extend_schema(tags=["recruitment"])
class RecruitmentEntryDetailApi(_EntryApi):
    required_permissions = {"PATCH": MANAGE}

    def get(self, request, pk):
        return Response(self.get_serializer(self.entry_data([self.get_object()])[0]).data)

    @extend_schema(request=RecruitmentEntryUpdateInput)
    def patch(self, request, pk):
        entry = self.get_object()
        data = self.validate_input(RecruitmentEntryUpdateInput)
        entry = recruitment.entry_update(merchant=self.merchant, actor=self.actor, entry=entry, changes=data)
        return Response(self.get_serializer(self.entry_data([entry])[0]).data)


@extend_schema(tags=["recruitment"])
class AgreementListApi(ListMixin, MerchantApi):
    """Versions of the distributor agreement; the newest is current and applicants must accept it."""

    model = Agreement
    serializer_class = AgreementSerializer
    required_permissions = {"POST": Perm.PROGRAM_MANAGE}

    @extend_schema(request=AgreementSerializer, responses={201: AgreementSerializer})
    def post(self, request):
        data = self.validate_input(AgreementSerializer)
        agreement = recruitment.agreement_publish(merchant=self.merchant, actor=self.actor, **data)
        return Response(self.get_serializer(agreement).data, status=201)


@extend_schema(tags=["recruitment"])
class AgreementDetailApi(RetrieveMixin, MerchantApi):
    model = Agreement
    serializer_class = AgreementSerializer
