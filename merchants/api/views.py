from __future__ import annotations

import django_filters
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from distribution import rls
from distribution.api.filters import DateTimeFilter, FilterSet
from distribution.api.validation import validate
from distribution.api.views import BaseApi, ListMixin, MerchantApi, RetrieveMixin
from distribution.errors import NotFound
from distribution.models import AuditEvent
from merchants.api import serializers as s
from merchants.authentication import SESSION_MERCHANT_KEY, StaffSessionAuthentication, staff_principal
from merchants.errors import CannotRevokeSelf, NotASession, NotAStaffToken
from merchants.models import DistributionProgram, Invitation, Membership, MerchantAPIKey, StaffToken
from merchants.roles import Perm
from merchants.services import credentials, lifecycle, programs, staff


class StaffLoginApi(APIView):
    """Exchange a staff username and password for a token (`Authorization: Bearer <token>`)."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_scope = "login"

    @extend_schema(request=s.LoginInput, responses={201: s.LoginOutput}, auth=[], tags=["identity"])
    def post(self, request):
        data = validate(s.LoginInput, request.data, context={})
        token, key = credentials.staff_login(
            request=request._request,
            username=data["username"],
            password=data["password"],
            merchant_slug=data.get("merchant"),
        )
        body = {
            "token": key,
            "expires_at": token.expiry_date,
            "merchant": s.MerchantOutput(token.merchant).data,
            "role": token.membership.role,
        }
        return Response(s.LoginOutput(body).data, status=status.HTTP_201_CREATED)


class StaffTokenRevokeApi(MerchantApi):
    """Log out: revoke the staff token this request was made with."""

    required_permissions = {"POST": Perm.VIEW}

    @extend_schema(request=None, responses={204: None}, tags=["identity"])
    def post(self, request):
        if self.principal.kind != "staff" or not self.principal.credential_id:
            raise NotAStaffToken()
        token = StaffToken.objects.for_merchant(self.merchant).get(pk=self.principal.credential_id)
        credentials.staff_token_revoke(token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SessionMerchantApi(MerchantApi):
    """Choose which of your merchants a browser session acts for."""

    required_permissions = {"POST": Perm.VIEW}

    @extend_schema(request=s.SessionMerchantInput, responses={200: s.MeOutput}, tags=["identity"])
    def post(self, request):
        data = self.validate_input(s.SessionMerchantInput)
        if not isinstance(request.successful_authenticator, StaffSessionAuthentication):
            raise NotASession()
        with rls.bypass():  # the user's memberships, in whichever merchants they are
            membership = (
                Membership.objects.unscoped()
                .filter(user=request.user, merchant__slug=data["merchant"])
                .select_related("merchant")
                .first()
            )
        if membership is None:
            raise NotFound("Merchant not found.")
        request._request.session[SESSION_MERCHANT_KEY] = membership.merchant_id
        membership.user = request.user
        return Response(_me_body(staff_principal(membership)))


def _me_body(p) -> dict:
    return {
        "kind": p.kind,
        "merchant": s.MerchantOutput(p.merchant).data,
        "role": p.role,
        "permissions": sorted(p.permissions),
        "actor": {"kind": p.actor.kind, "id": p.actor.id, "label": p.actor.label},
    }


class MeApi(MerchantApi):
    """Who am I: the merchant, role and permissions of these credentials."""

    @extend_schema(responses={200: s.MeOutput}, tags=["identity"])
    def get(self, request):
        return Response(_me_body(self.principal))


class MerchantProfileApi(MerchantApi):
    """The merchant itself: name and time zone (currency is fixed at creation)."""

    required_permissions = {"PATCH": Perm.PROGRAM_MANAGE}

    @extend_schema(responses={200: s.MerchantOutput}, tags=["program"])
    def get(self, request):
        return Response(s.MerchantOutput(self.merchant).data)

    @extend_schema(request=s.MerchantUpdateInput, responses={200: s.MerchantOutput}, tags=["program"])
    def patch(self, request):
        data = self.validate_input(s.MerchantUpdateInput)
        merchant = lifecycle.merchant_update(merchant=self.merchant, actor=self.actor, changes=data)
        return Response(s.MerchantOutput(merchant).data)


class ProgramApi(MerchantApi):
    """The distribution program's settings. Every change is audited (see /program/changes)."""

    model = DistributionProgram
    required_permissions = {"PATCH": Perm.PROGRAM_MANAGE}

    @extend_schema(responses={200: s.ProgramSerializer}, tags=["program"])
    def get(self, request):
        program = self.get_queryset().get()
        return Response(s.ProgramSerializer(program, context=self.get_serializer_context()).data)

    @extend_schema(request=s.ProgramUpdateInput, responses={200: s.ProgramSerializer}, tags=["program"])
    def patch(self, request):
        data = dict(self.validate_input(s.ProgramUpdateInput, partial=True))
        reason = data.pop("reason", "")
        program = programs.program_update(merchant=self.merchant, actor=self.actor, changes=data, reason=reason)
        return Response(s.ProgramSerializer(program, context=self.get_serializer_context()).data)


class AuditEventFilter(FilterSet):
    created_after = DateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = DateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["action", "object_type", "object_id", "actor_kind", "actor_id"]


@extend_schema(tags=["program"])
class AuditEventListApi(ListMixin, MerchantApi):
    """The merchant's audit trail, newest first."""

    model = AuditEvent
    serializer_class = s.AuditEventOutput
    filterset_class = AuditEventFilter
    required_permissions = {"GET": Perm.AUDIT_VIEW}


@extend_schema(tags=["program"])
class AuditEventDetailApi(RetrieveMixin, MerchantApi):
    model = AuditEvent
    serializer_class = s.AuditEventOutput
    required_permissions = {"GET": Perm.AUDIT_VIEW}


class ProgramChangesApi(AuditEventListApi):
    """Every change to the program settings: who, when, old and new values."""

    required_permissions = {"GET": Perm.VIEW}

    def scope_queryset(self, queryset):
        return queryset.filter(object_type="merchants.distributionprogram")


# --- staff -------------------------------------------------------------------------------------------
@extend_schema(tags=["identity"])
class MembershipListApi(ListMixin, MerchantApi):
    """The merchant's staff. People join by invitation (`POST /api/v1/staff/invitations`)."""

    model = Membership
    serializer_class = s.MembershipOutput
    filterset_fields = ["role"]

    def scope_queryset(self, queryset):
        return queryset.select_related("user")


@extend_schema(tags=["identity"])
class MembershipDetailApi(RetrieveMixin, MerchantApi):
    model = Membership
    serializer_class = s.MembershipOutput
    required_permissions = {"PATCH": Perm.STAFF_MANAGE, "DELETE": Perm.STAFF_MANAGE}

    def scope_queryset(self, queryset):
        return queryset.select_related("user")

    @extend_schema(request=s.MembershipUpdateInput, responses={200: s.MembershipOutput})
    def patch(self, request, pk):
        membership = self.get_object()
        data = self.validate_input(s.MembershipUpdateInput)
        membership = staff.membership_change_role(
            merchant=self.merchant,
            actor=self.actor,
            actor_role=self.principal.role,
            actor_user_id=request.user.pk if self.principal.kind == "staff" else None,
            membership_id=membership.pk,
            role=data["role"],
        )
        return Response(s.MembershipOutput(membership).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        membership = self.get_object()
        staff.membership_remove(
            merchant=self.merchant, actor=self.actor, actor_role=self.principal.role, membership_id=membership.pk
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- invitations -------------------------------------------------------------------------------------
class InvitationFilter(FilterSet):
    status = django_filters.ChoiceFilter(choices=Invitation.Status.choices, method="by_status")

    class Meta:
        model = Invitation
        fields = ["role", "status"]

    def by_status(self, queryset, name, value):
        now = timezone.now()
        if value == Invitation.Status.PENDING:
            return queryset.filter(status=value, expires_at__gt=now)
        if value == Invitation.Status.EXPIRED:
            return queryset.filter(status=Invitation.Status.PENDING, expires_at__lte=now)
        return queryset.filter(status=value)


class _InvitationApi(MerchantApi):
    model = Invitation
    serializer_class = s.InvitationOutput
    required_permissions = {"GET": Perm.STAFF_MANAGE, "POST": Perm.STAFF_MANAGE}

    def scope_queryset(self, queryset):
        return queryset.select_related("invited_by", "accepted_by")


@extend_schema(tags=["identity"])
class InvitationListApi(ListMixin, _InvitationApi):
    """Invitations to join the staff, newest first. The token is shown once, when one is made."""

    filterset_class = InvitationFilter

    @extend_schema(request=s.InvitationCreateInput, responses={201: s.InvitationCreatedOutput})
    def post(self, request):
        data = self.validate_input(s.InvitationCreateInput)
        invitation, token = staff.invitation_create(
            merchant=self.merchant,
            actor=self.actor,
            actor_role=self.principal.role,
            role=data["role"],
            email=data["email"],
            invited_by=request.user if self.principal.kind == "staff" else None,
        )
        invitation.token = token
        return Response(s.InvitationCreatedOutput(invitation).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["identity"])
class InvitationDetailApi(RetrieveMixin, _InvitationApi):
    pass


class InvitationRevokeApi(_InvitationApi):
    @extend_schema(request=None, responses={200: s.InvitationOutput}, tags=["identity"])
    def post(self, request, pk):
        invitation = staff.invitation_revoke(
            merchant=self.merchant, actor=self.actor, actor_role=self.principal.role, invitation_id=self.get_object().pk
        )
        return Response(s.InvitationOutput(invitation).data)


class InvitationAcceptApi(BaseApi):
    """Join a merchant's staff with an invitation's token: log in first (browser session), give your
    username and password, or ask for a new account for this merchant."""

    authentication_classes = [SessionAuthentication]  # CSRF-checked; a token or key names a merchant already
    permission_classes = [AllowAny]  # the invitation's token is the credential (and a session is optional)
    throttle_scope = "login"
    idempotent_methods = frozenset()  # nobody to scope a key to before the token is checked

    @extend_schema(request=s.InvitationAcceptInput, responses={201: s.InvitationAcceptedOutput}, tags=["identity"])
    def post(self, request):
        data = self.validate_input(s.InvitationAcceptInput)
        membership = staff.invitation_accept(
            request=request._request,
            token=data["token"],
            user=request.user if request.user.is_authenticated else None,
            username=data.get("username", ""),
            password=data.get("password", ""),
            new_account=data["new_account"],
            email=data["email"],
        )
        return Response(s.InvitationAcceptedOutput(membership).data, status=status.HTTP_201_CREATED)


# --- API keys ----------------------------------------------------------------------------------------
@extend_schema(tags=["identity"])
class ApiKeyListApi(ListMixin, MerchantApi):
    model = MerchantAPIKey
    serializer_class = s.ApiKeyOutput
    required_permissions = {"GET": Perm.API_KEYS_MANAGE, "POST": Perm.API_KEYS_MANAGE}
    filterset_fields = ["revoked", "role"]

    def scope_queryset(self, queryset):
        return queryset.select_related("created_by")

    @extend_schema(request=s.ApiKeyCreateInput, responses={201: s.ApiKeyCreatedOutput})
    def post(self, request):
        data = self.validate_input(s.ApiKeyCreateInput)
        api_key, key = credentials.api_key_create(
            merchant=self.merchant,
            actor=self.actor,
            actor_role=self.principal.role,
            name=data["name"],
            role=data["role"],
            expires_at=data["expires_at"],
            created_by=request.user if self.principal.kind == "staff" else None,
        )
        api_key.key = key
        return Response(s.ApiKeyCreatedOutput(api_key).data, status=status.HTTP_201_CREATED)


class _ApiKeyObjectApi(MerchantApi):
    model = MerchantAPIKey
    serializer_class = s.ApiKeyOutput
    lookup_field = "prefix"


@extend_schema(tags=["identity"])
class ApiKeyDetailApi(RetrieveMixin, _ApiKeyObjectApi):
    required_permissions = {"GET": Perm.API_KEYS_MANAGE}


class ApiKeyRevokeApi(_ApiKeyObjectApi):
    required_permissions = {"POST": Perm.API_KEYS_MANAGE}

    @extend_schema(request=None, responses={200: s.ApiKeyOutput}, tags=["identity"])
    def post(self, request, prefix):
        api_key = self.get_object()
        if self.principal.kind == "api_key" and self.principal.credential_id == api_key.pk:
            raise CannotRevokeSelf()
        api_key = credentials.api_key_revoke(
            merchant=self.merchant, actor=self.actor, actor_role=self.principal.role, api_key_id=api_key.pk
        )
        return Response(s.ApiKeyOutput(api_key).data)
