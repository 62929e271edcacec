"""Customer bindings (客户关系): visits that bind a customer, and transfers between distributors."""

from rest_framework import serializers

from distribution.api.fields import DateTimeField, IntegerField, TenantRelatedField
from distribution.api.serializers import ModelSerializer
from distributors.api.serializers.distributors import DistributorBrief
from distributors.models import CustomerBinding, Distributor


class BindingOutput(ModelSerializer):
    distributor = DistributorBrief()
    end_reason = serializers.ChoiceField(
        choices=CustomerBinding.EndReason.choices, allow_blank=True, help_text="Empty while the binding is active."
    )

    class Meta:
        model = CustomerBinding
        fields = [
            "id",
            "customer_external_id",
            "distributor",
            "status",
            "source",
            "bound_at",
            "expires_at",
            "protected_until",
            "ended_at",
            "end_reason",
        ]
        read_only_fields = fields


class VisitInput(serializers.Serializer):
    customer_external_id = serializers.CharField(max_length=64)
    share_code = serializers.CharField(max_length=16)
    visited_at = DateTimeField(required=False, allow_null=True, default=None)
    visit_id = serializers.CharField(
        max_length=64,
        required=False,
        allow_null=True,
        default=None,
        help_text="Your id for this visit: the same id sent again changes nothing.",
    )


class VisitOutput(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["bound", "already_bound", "moved"])
    binding = BindingOutput()
    previous_distributor = DistributorBrief(allow_null=True)


class CustomerBindingOutput(serializers.Serializer):
    customer_external_id = serializers.CharField()
    current = BindingOutput(allow_null=True)
    history = BindingOutput(many=True)


class TransferInput(serializers.Serializer):
    from_distributor = TenantRelatedField(model=Distributor)
    to_distributor = TenantRelatedField(model=Distributor, allow_null=True, help_text="null releases the customers.")
    customer_external_ids = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        allow_null=True,
        default=None,
        max_length=10000,
        help_text="Only these customers; omit for all of the distributor's customers.",
    )
    reason = serializers.CharField(max_length=500)


class TransferOutput(serializers.Serializer):
    moved = IntegerField()
