"""Tier runs (等级升降): the recalculations of every distributor's level."""

from datetime import timedelta

from rest_framework import serializers

from distribution.api.fields import DateTimeField
from distribution.api.serializers import ModelSerializer
from tiers.models import TierRun


class TierRunOutput(ModelSerializer):
    class Meta:
        model = TierRun
        fields = [
            "id",
            "as_of",
            "trigger",
            "status",
            "downgrades",
            "period",
            "evaluated",
            "upgraded",
            "downgraded",
            "attempts",
            "started_at",
            "finished_at",
            "created_at",
        ]
        read_only_fields = fields


class TierRunInput(serializers.Serializer):
    as_of = DateTimeField(
        required=False, future_limit=timedelta(minutes=1), help_text="Evaluate as of this time (default: now)."
    )
