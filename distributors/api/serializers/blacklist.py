"""The blacklist (黑名单)."""

from django.utils import timezone
from rest_framework import serializers

from distribution.api.fields import DateTimeField, IntegerField, TenantRelatedField
from distribution.api.serializers import ModelSerializer
from distributors.api.serializers.distributors import DistributorBrief
from distributors.models import BlacklistEntry, Distributor


class BlacklistOutput(ModelSerializer):
    value = serializers.CharField(source="value_display")
    distributor = DistributorBrief(allow_null=True)
    is_live = serializers.SerializerMethodField()

    class Meta:
        model = BlacklistEntry
        fields = [
            "id",
            "kind",
            "value",
            "distributor",
            "reason",
            "added_by",
            "expires_at",
            "removed_at",
            "removed_by",
            "is_live",
            "created_at",
        ]
        read_only_fields = fields

    def get_is_live(self, entry) -> bool:
        return entry.removed_at is None and (entry.expires_at is None or entry.expires_at > timezone.now())


class BlacklistInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=BlacklistEntry.Kind.choices)
    value = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        default="",
        help_text="The phone, ID number or app user id (not for kind=distributor).",
    )
    distributor = TenantRelatedField(
        model=Distributor,
        required=False,
        allow_null=True,
        default=None,
        help_text="For kind=distributor.",
    )
    reason = serializers.CharField(max_length=500)
    expires_at = DateTimeField(required=False, allow_null=True, default=None)


class BlacklistAddedOutput(BlacklistOutput):
    blacklisted_distributors = serializers.ListField(child=IntegerField())

    class Meta(BlacklistOutput.Meta):
        fields = [*BlacklistOutput.Meta.fields, "blacklisted_distributors"]
        read_only_fields = fields
