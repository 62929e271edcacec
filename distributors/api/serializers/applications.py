"""Applications to become a distributor, from the app or the merchant's server."""

from rest_framework import serializers

from distribution.api.fields import PhoneField
from distribution.api.serializers import ModelSerializer
from distributors.api.serializers.distributors import DistributorBrief
from distributors.models import Application
from distributors.services.identity import ID_TYPES


class ApplyInput(serializers.Serializer):
    display_name = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    phone = PhoneField(required=False, allow_blank=True, default="")
    invite_code = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")
    entry_code = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")
    agreement_version = serializers.CharField(max_length=32, required=False, allow_null=True, default=None)
    real_name = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    id_type = serializers.ChoiceField(choices=ID_TYPES, default="cn_resident")
    id_number = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


class ServerApplyInput(ApplyInput):
    external_user_id = serializers.CharField(max_length=64)
    identity_verified = serializers.BooleanField(default=False)


class ApplicationOutput(ModelSerializer):
    distributor = DistributorBrief()
    inviter = DistributorBrief(allow_null=True)
    entry = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    agreement_version = serializers.CharField(source="agreement.version", allow_null=True, default=None)
    external_user_id = serializers.CharField(source="distributor.external_user_id")

    class Meta:
        model = Application
        fields = [
            "id",
            "external_user_id",
            "distributor",
            "status",
            "channel",
            "invite_code",
            "inviter",
            "entry",
            "agreement_version",
            "auto_approved",
            "decision_reason",
            "decided_by",
            "decided_at",
            "created_at",
        ]
        read_only_fields = fields
