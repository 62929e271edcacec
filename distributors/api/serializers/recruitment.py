"""Recruitment entries (招募入口) and the distributor agreement."""

from rest_framework import serializers

from catalog.models import Product
from distribution.api.fields import IntegerField, TenantRelatedField
from distribution.api.serializers import ModelSerializer
from distributors.models import Agreement, RecruitmentEntry


class RecruitmentEntryOutput(ModelSerializer):
    product = serializers.SlugRelatedField(slug_field="external_id", read_only=True, allow_null=True)
    link = serializers.CharField(allow_null=True)
    applications = IntegerField(help_text="Applications made through this entry.")
    approved = IntegerField(help_text="Of those, approved.")

    class Meta:
        model = RecruitmentEntry
        fields = [
            "id",
            "code",
            "name",
            "kind",
            "product",
            "is_active",
            "link",
            "applications",
            "approved",
            "created_at",
        ]
        read_only_fields = fields


class RecruitmentEntryInput(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    kind = serializers.ChoiceField(choices=RecruitmentEntry.Kind.choices)
    product = TenantRelatedField(model=Product, slug_field="external_id", required=False, allow_null=True, default=None)


class RecruitmentEntryUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=80, required=False)
    is_active = serializers.BooleanField(required=False)


class AgreementSerializer(ModelSerializer):
    class Meta:
        model = Agreement
        fields = ["id", "version", "title", "body", "published_at"]
        read_only_fields = ["id", "published_at"]
        validators: list = []


class AcceptAgreementInput(serializers.Serializer):
    version = serializers.CharField(max_length=32)
