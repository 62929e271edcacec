from rest_framework import serializers

from distributors.models import DistributorToken
from merchants.api.serializers import MerchantOutput


class DistributorTokenOutput(serializers.ModelSerializer):
    class Meta:
        model = DistributorToken
        fields = ["prefix", "external_user_id", "created", "expiry_date", "revoked", "last_used_at"]
        read_only_fields = fields


class DistributorTokenCreatedOutput(DistributorTokenOutput):
    token = serializers.CharField(help_text="Give this to the app; shown once.")

    class Meta(DistributorTokenOutput.Meta):
        fields = [*DistributorTokenOutput.Meta.fields, "token"]
        read_only_fields = fields


class DistributorTokenIssueInput(serializers.Serializer):
    external_user_id = serializers.CharField(max_length=64, help_text="The person's id in the merchant's app.")
    ttl_seconds = serializers.IntegerField(required=False, min_value=60)


class RevokeUserInput(serializers.Serializer):
    external_user_id = serializers.CharField(max_length=64)


class RevokeUserOutput(serializers.Serializer):
    revoked = serializers.IntegerField()


class DistributorMeOutput(serializers.Serializer):
    external_user_id = serializers.CharField()
    merchant = MerchantOutput()
