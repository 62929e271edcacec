"""Distributor tokens: what the merchant's server asks for to let an app user call the distributor API."""

from rest_framework import serializers

from distribution.api.fields import IntegerField, SecretField, SecretWithheldField
from distribution.api.serializers import ModelSerializer
from distributors.models import DistributorToken


class DistributorTokenOutput(ModelSerializer):
    class Meta:
        model = DistributorToken
        fields = ["prefix", "external_user_id", "created", "expiry_date", "revoked", "last_used_at"]
        read_only_fields = fields


class DistributorTokenCreatedOutput(DistributorTokenOutput):
    token = SecretField(help_text="Give this to the app; shown once.")
    secret_withheld = SecretWithheldField()

    class Meta(DistributorTokenOutput.Meta):
        fields = [*DistributorTokenOutput.Meta.fields, "token", "secret_withheld"]
        read_only_fields = fields


class DistributorTokenIssueInput(serializers.Serializer):
    external_user_id = serializers.CharField(max_length=64, help_text="The person's id in the merchant's app.")
    ttl_seconds = IntegerField(required=False, min_value=60, max_value=10**9)


class RevokeUserInput(serializers.Serializer):
    external_user_id = serializers.CharField(max_length=64)


class RevokeUserOutput(serializers.Serializer):
    revoked = IntegerField()
