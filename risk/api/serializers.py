from rest_framework import serializers

from distribution.api.fields import IntegerField
from distribution.api.serializers import ModelSerializer
from risk.models import RiskFlag


class RiskFlagOutput(ModelSerializer):
    distributor = IntegerField(source="distributor_id", allow_null=True)

    class Meta:
        model = RiskFlag
        fields = [
            "id",
            "rule",
            "subject",
            "distributor",
            "evidence",
            "status",
            "review_note",
            "reviewed_by",
            "reviewed_at",
            "created_at",
        ]
        read_only_fields = fields


class ReviewInput(serializers.Serializer):
    action = serializers.ChoiceField(choices=["accept", "dismiss", "blacklist"])
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
