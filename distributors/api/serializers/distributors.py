"""Distributors as the merchant sees them (personal data masked), and the inputs of their lifecycle
actions: freeze, remove, set the level, change the inviter, record the identity."""

from rest_framework import serializers

from distribution.api.fields import DateTimeField, IntegerField, TenantRelatedField
from distribution.api.serializers import ModelSerializer
from distributors.api.serializers.common import ReasonInput
from distributors.api.serializers.levels import LevelBrief
from distributors.models import Distributor, Level
from distributors.services.identity import ID_TYPES


class DistributorBrief(ModelSerializer):
    class Meta:
        model = Distributor
        fields = ["id", "display_name", "invite_code", "status", "depth"]
        read_only_fields = fields


class IdentityOutput(serializers.Serializer):
    real_name = serializers.CharField(source="real_name_masked")
    id_type = serializers.CharField()
    id_number = serializers.CharField(source="id_number_masked")
    submitted_at = DateTimeField(source="identity_submitted_at", allow_null=True)
    verified = serializers.BooleanField(source="identity_verified")
    verified_at = DateTimeField(source="identity_verified_at", allow_null=True)


class DistributorOutput(ModelSerializer):
    """Personal data is masked: the phone, the real name and the ID number are never shown in full."""

    phone = serializers.CharField(source="phone_masked")
    inviter = DistributorBrief(allow_null=True)
    level = LevelBrief(allow_null=True)
    identity = IdentityOutput(source="*")

    class Meta:
        model = Distributor
        fields = [
            "id",
            "external_user_id",
            "invite_code",
            "display_name",
            "phone",
            "status",
            "status_reason",
            "status_changed_at",
            "inviter",
            "depth",
            "level",
            "level_locked",
            "level_lock_reason",
            "identity",
            "applied_at",
            "activated_at",
            "created_at",
        ]
        read_only_fields = fields


class TeamCounts(serializers.Serializer):
    direct = IntegerField(source="1")
    depth_2 = IntegerField(source="2")
    depth_3 = IntegerField(source="3")
    members = IntegerField(source="total", help_text="Everyone in the team, at any depth (beyond 3 too).")


class DistributorDetailOutput(DistributorOutput):
    upline = DistributorBrief(many=True)
    team = TeamCounts()
    invite_link = serializers.CharField(allow_null=True)
    share_link = serializers.CharField(allow_null=True)

    class Meta(DistributorOutput.Meta):
        fields = [*DistributorOutput.Meta.fields, "upline", "team", "invite_link", "share_link"]
        read_only_fields = fields


class TeamMemberOutput(ModelSerializer):
    """What a distributor sees of their team: names and dates, no contact data."""

    relative_depth = IntegerField()
    level = LevelBrief(allow_null=True)

    class Meta:
        model = Distributor
        fields = ["id", "display_name", "relative_depth", "status", "level", "activated_at"]
        read_only_fields = fields


class RemoveInput(ReasonInput):
    customers = serializers.ChoiceField(
        choices=["release", "to_inviter"],
        default="release",
        help_text="What happens to the distributor's customers: released, or handed to their inviter.",
    )


class SetLevelInput(serializers.Serializer):
    level = TenantRelatedField(model=Level)
    lock = serializers.BooleanField(default=False, help_text="Keep the automatic recalculation away.")
    reason = serializers.CharField(max_length=500)


class ChangeInviterInput(serializers.Serializer):
    inviter = TenantRelatedField(
        model=Distributor,
        allow_null=True,
        help_text="The new inviter's id; null moves the distributor to the top.",
    )
    reason = serializers.CharField(max_length=500)


class IdentityInput(serializers.Serializer):
    real_name = serializers.CharField(max_length=64)
    id_type = serializers.ChoiceField(choices=ID_TYPES, default="cn_resident")
    id_number = serializers.CharField(max_length=32)


class MerchantIdentityInput(IdentityInput):
    verified = serializers.BooleanField(default=True, help_text="The merchant checked it (e.g. with WeChat).")
