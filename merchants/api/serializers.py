from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from distribution.api.fields import (
    BasisPointsField,
    DateTimeField,
    IntegerField,
    MoneyField,
    SecretField,
    SecretWithheldField,
)
from distribution.api.serializers import ModelSerializer
from distribution.models import AuditEvent
from distribution.pii import mask_email
from merchants.models import (
    DistributionProgram,
    Invitation,
    Membership,
    Merchant,
    MerchantAPIKey,
    validate_timezone,
)
from merchants.roles import API_KEY_ROLES, Role


class MerchantOutput(ModelSerializer):
    class Meta:
        model = Merchant
        fields = ["id", "name", "slug", "currency", "timezone", "status", "created_at"]
        read_only_fields = fields


class MerchantUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    timezone = serializers.CharField(max_length=64, required=False, validators=[validate_timezone])


class ProgramSerializer(ModelSerializer):
    """Program settings; amounts are decimal strings, rates basis points (1000 = 10%)."""

    commission_depth = IntegerField(
        min_value=1, max_value=32767, help_text="1-3; more than 3 is refused (commission_depth_not_allowed)."
    )
    depth1_rate_bps = BasisPointsField(required=False)
    depth2_rate_bps = BasisPointsField(required=False)
    depth3_rate_bps = BasisPointsField(required=False)
    commission_cap_bps = BasisPointsField(required=False, allow_null=True)
    withdrawal_min_amount = MoneyField(min_value=0, required=False)
    withdrawal_daily_max_amount = MoneyField(min_value=0, required=False)
    withdrawal_fee_bps = BasisPointsField(required=False)
    withdrawal_fee_fixed = MoneyField(min_value=0, required=False)
    tax_withholding_bps = BasisPointsField(required=False, max_value=5000)

    class Meta:
        model = DistributionProgram
        fields = [
            "commission_depth",
            "depth1_rate_bps",
            "depth2_rate_bps",
            "depth3_rate_bps",
            "commission_cap_bps",
            "self_purchase_commission",
            "create_unknown_products",
            "binding_mode",
            "binding_validity_days",
            "binding_protection_days",
            "after_sales_days",
            "settlement_schedule",
            "settlement_hour",
            "settlement_weekday",
            "settlement_monthday",
            "withdrawal_min_amount",
            "withdrawal_daily_max_amount",
            "withdrawal_fee_bps",
            "withdrawal_fee_fixed",
            "withdrawal_requires_real_name",
            "withdrawal_auto_approve",
            "tax_mode",
            "tax_withholding_bps",
            "settlement_provider",
            "payout_provider",
            "auto_approve_applications",
            "application_requires_real_name",
            "application_risk_check",
            "blacklist_commission_policy",
            "level_downgrade_enabled",
            "level_evaluation_months",
            "level_downgrade_grace_days",
            "app_base_url",
            "updated_at",
        ]
        read_only_fields = ["updated_at"]
        extra_kwargs = {"commission_depth": {"required": False}}


class ProgramUpdateInput(ProgramSerializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, write_only=True)

    class Meta(ProgramSerializer.Meta):
        fields = [*ProgramSerializer.Meta.fields, "reason"]


class UserOutput(serializers.Serializer):
    """A staff member as their merchant sees them. The account, and its e-mail, is the person's (it may
    belong to other merchants too), so the e-mail is masked, enough to recognise a colleague."""

    id = IntegerField()
    username = serializers.CharField()
    email_masked = serializers.SerializerMethodField(help_text="e.g. a***@example.com; empty when none.")

    def get_email_masked(self, user) -> str:
        return mask_email(user.email)


class MembershipOutput(ModelSerializer):
    user = UserOutput()

    class Meta:
        model = Membership
        fields = ["id", "user", "role", "created_at", "updated_at"]
        read_only_fields = fields


class OptionalEmailOutput(serializers.EmailField):
    """An e-mail address that may be absent: null then, never "" (which is not an e-mail address)."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, allow_null=True, **kwargs)

    def to_representation(self, value):
        return value or None


class InvitationOutput(ModelSerializer):
    status = serializers.ChoiceField(
        source="current_status",
        choices=Invitation.Status.choices,
        read_only=True,
        help_text="expired: still pending when expires_at passed.",
    )
    email = OptionalEmailOutput(help_text="Whom it is for, as the merchant wrote it.")
    invited_by = serializers.SlugRelatedField(
        slug_field=get_user_model().USERNAME_FIELD, read_only=True, allow_null=True, help_text="null: an API key."
    )
    accepted_by = serializers.SlugRelatedField(
        slug_field=get_user_model().USERNAME_FIELD, read_only=True, allow_null=True, help_text="Who joined with it."
    )

    class Meta:
        model = Invitation
        fields = [
            "id",
            "email",
            "role",
            "status",
            "expires_at",
            "invited_by",
            "accepted_by",
            "accepted_at",
            "created_at",
        ]
        read_only_fields = fields


class InvitationCreatedOutput(InvitationOutput):
    token = SecretField(help_text="Give it to the invitee. Shown once: it is stored only as a hash.")
    secret_withheld = SecretWithheldField()

    class Meta(InvitationOutput.Meta):
        fields = [*InvitationOutput.Meta.fields, "token", "secret_withheld"]
        read_only_fields = fields


class InvitationCreateInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)
    email = serializers.EmailField(required=False, allow_blank=True, default="", help_text="A note: whom it is for.")


class InvitationAcceptInput(serializers.Serializer):
    token = serializers.CharField(max_length=200)
    username = serializers.CharField(
        max_length=150,
        required=False,
        help_text="Your account's username; with new_account, the name of the new account "
        "(it becomes <name>@<merchant slug>).",
    )
    password = serializers.CharField(max_length=200, required=False, write_only=True, style={"input_type": "password"})
    new_account = serializers.BooleanField(
        default=False, help_text="Create an account for this merchant instead of using one you have."
    )
    email = serializers.EmailField(required=False, allow_blank=True, default="", help_text="For a new account.")

    def validate(self, attrs):
        given = {name for name in ("username", "password") if attrs.get(name)}
        if attrs["new_account"] and given != {"username", "password"}:
            raise serializers.ValidationError(
                {name: ["Required for a new account."] for name in ("username", "password") if name not in given}
            )
        if not attrs["new_account"] and len(given) == 1:
            missing = ({"username", "password"} - given).pop()
            raise serializers.ValidationError({missing: ["Give both username and password, or neither."]})
        if attrs["email"] and not attrs["new_account"]:
            raise serializers.ValidationError({"email": ["Only for a new account."]})
        return attrs


class InvitationAcceptedOutput(MembershipOutput):
    merchant = MerchantOutput(help_text="The merchant you joined.")

    class Meta(MembershipOutput.Meta):
        fields = [*MembershipOutput.Meta.fields, "merchant"]
        read_only_fields = fields


class MembershipUpdateInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class ApiKeyOutput(ModelSerializer):
    created_by = serializers.SlugRelatedField(
        slug_field=get_user_model().USERNAME_FIELD,
        read_only=True,
        allow_null=True,
        help_text="The staff member who made it; null for a key made with another key.",
    )

    class Meta:
        model = MerchantAPIKey
        fields = ["prefix", "name", "role", "created", "expiry_date", "revoked", "last_used_at", "created_by"]
        read_only_fields = fields


class ApiKeyCreatedOutput(ApiKeyOutput):
    key = SecretField(help_text="The full key. Shown once: store it now.")
    secret_withheld = SecretWithheldField()

    class Meta(ApiKeyOutput.Meta):
        fields = [*ApiKeyOutput.Meta.fields, "key", "secret_withheld"]
        read_only_fields = fields


class ApiKeyCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=50)
    role = serializers.ChoiceField(choices=[(r.value, r.label) for r in API_KEY_ROLES])
    expires_at = DateTimeField(required=False, allow_null=True, default=None)


class LoginInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=200, style={"input_type": "password"})
    merchant = serializers.SlugField(required=False, help_text="Slug; needed when you belong to several.")


class LoginOutput(serializers.Serializer):
    token = serializers.CharField()
    expires_at = DateTimeField()
    merchant = MerchantOutput()
    role = serializers.CharField()


class SessionMerchantInput(serializers.Serializer):
    merchant = serializers.SlugField()


class MeOutput(serializers.Serializer):
    kind = serializers.CharField()
    merchant = MerchantOutput()
    role = serializers.CharField(allow_null=True)
    permissions = serializers.ListField(child=serializers.CharField())
    actor = serializers.DictField()


class AuditEventOutput(ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "actor_kind",
            "actor_id",
            "actor_label",
            "action",
            "object_type",
            "object_id",
            "changes",
            "reason",
            "request_id",
        ]
        read_only_fields = fields
