from __future__ import annotations

import django_filters
from django.db.models import Count, F, Q
from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.response import Response

from distribution.api.filters import DateTimeFilter, FilterSet
from distribution.api.pagination import CursorPagination
from distribution.api.views import DistributorApi, ListMixin, MerchantApi, ObjectActionApi, RetrieveMixin
from distribution.errors import NotFound
from distribution.inputs import parse_int
from distributors import selectors
from distributors.api import serializers as s
from distributors.errors import AgreementNotCurrent, NotADistributor, NotBlacklisted
from distributors.models import (
    Agreement,
    Application,
    BlacklistEntry,
    CustomerBinding,
    Distributor,
    DistributorToken,
    Level,
    LevelChange,
    RecruitmentEntry,
)
from distributors.services import (
    applications,
    bindings,
    blacklist,
    identity,
    levels,
    lifecycle,
    recruitment,
)
from distributors.services import tokens as token_services
from merchants.models import DistributionProgram
from merchants.roles import Perm
from tiers import services as tiers
from tiers.models import TierRun

MANAGE = Perm.DISTRIBUTORS_MANAGE


def program_of(merchant) -> DistributionProgram:
    return DistributionProgram.objects.for_merchant(merchant).get()


# --- distributor tokens --------------------------------------------------------------------------------
@extend_schema(tags=["distributors"])
class DistributorTokenListApi(ListMixin, MerchantApi):
    """Tokens for the merchant's app users. The merchant's server authenticates the person itself,
    then asks for a token that the app sends as `Authorization: Bearer <token>`."""

    model = DistributorToken
    serializer_class = s.DistributorTokenOutput
    required_permissions = {"POST": Perm.TOKENS_ISSUE}
    filterset_fields = ["external_user_id", "revoked"]

    @extend_schema(
        request=s.DistributorTokenIssueInput,
        responses={201: s.DistributorTokenCreatedOutput},
        examples=[OpenApiExample("An app user", request_only=True, value={"external_user_id": "wx-alice"})],
    )
    def post(self, request):
        data = self.validate_input(s.DistributorTokenIssueInput)
        token, key = token_services.distributor_token_issue(
            merchant=self.merchant,
            actor=self.actor,
            external_user_id=data["external_user_id"],
            ttl_seconds=data.get("ttl_seconds"),
        )
        token.token = key
        return Response(s.DistributorTokenCreatedOutput(token).data, status=status.HTTP_201_CREATED)


class _DistributorTokenObjectApi(MerchantApi):
    model = DistributorToken
    serializer_class = s.DistributorTokenOutput
    lookup_field = "prefix"


@extend_schema(tags=["distributors"])
class DistributorTokenDetailApi(RetrieveMixin, _DistributorTokenObjectApi):
    pass


@extend_schema(tags=["distributors"])
class DistributorTokenRevokeApi(_DistributorTokenObjectApi):
    required_permissions = {"POST": Perm.TOKENS_ISSUE}

    @extend_schema(request=None, responses={200: s.DistributorTokenOutput})
    def post(self, request, prefix):
        token = token_services.distributor_token_revoke(
            merchant=self.merchant, actor=self.actor, token_id=self.get_object().pk
        )
        return Response(s.DistributorTokenOutput(token).data)


@extend_schema(tags=["distributors"])
class DistributorTokenRevokeUserApi(MerchantApi):
    """Sign one app user out everywhere."""

    required_permissions = {"POST": Perm.TOKENS_ISSUE}

    @extend_schema(request=s.RevokeUserInput, responses={200: s.RevokeUserOutput})
    def post(self, request):
        data = self.validate_input(s.RevokeUserInput)
        count = token_services.distributor_tokens_revoke_user(
            merchant=self.merchant, actor=self.actor, external_user_id=data["external_user_id"]
        )
        return Response({"revoked": count})


# --- distributors (merchant) ---------------------------------------------------------------------------
class DistributorFilter(FilterSet):
    q = django_filters.CharFilter(method="search", help_text="Name, invite code or app user id contains.")
    created_after = DateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = DateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Distributor
        fields = ["status", "level", "inviter", "depth", "level_locked", "external_user_id"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(display_name__icontains=value) | Q(invite_code__iexact=value) | Q(external_user_id__icontains=value)
        )


@extend_schema(tags=["distributors"])
class DistributorListApi(ListMixin, MerchantApi):
    model = Distributor
    serializer_class = s.DistributorOutput
    filterset_class = DistributorFilter

    def scope_queryset(self, queryset):
        return queryset.select_related("level", "inviter")


def distributor_detail(distributor: Distributor, program: DistributionProgram) -> dict:
    distributor.upline = selectors.upline(distributor, program.commission_depth)
    distributor.team = selectors.team_counts(distributor)
    distributor.invite_link = recruitment.invite_link(program, distributor)
    distributor.share_link = recruitment.share_link(program, distributor)
    return s.DistributorDetailOutput(distributor).data


class _DistributorObjectApi(MerchantApi):
    model = Distributor

    def scope_queryset(self, queryset):
        return queryset.select_related("level", "inviter")

    def detail(self, distributor: Distributor, http_status: int = 200, *, reload: bool = True) -> Response:
        """The detail body; after a change the row is read again (`reload`), a plain GET uses the one loaded."""
        if reload:
            distributor = self.get_queryset().get(pk=distributor.pk)
        return Response(distributor_detail(distributor, program_of(self.merchant)), status=http_status)


@extend_schema(tags=["distributors"])
class DistributorDetailApi(_DistributorObjectApi):
    """A distributor with their upline (up to the program's depth) and team counts."""

    @extend_schema(responses={200: s.DistributorDetailOutput})
    def get(self, request, pk):
        return self.detail(self.get_object(), reload=False)


class _DistributorActionApi(ObjectActionApi, _DistributorObjectApi):
    """A lifecycle service on one distributor; the answer is the distributor's detail."""

    required_permissions = {"POST": MANAGE}
    object_argument = "distributor_id"

    def answer(self, obj, result):
        return self.detail(obj)


def _action_schema(input_class):
    return extend_schema_view(
        post=extend_schema(request=input_class, responses={200: s.DistributorDetailOutput}, tags=["distributors"])
    )


@_action_schema(s.ReasonInput)
class DistributorFreezeApi(_DistributorActionApi):
    """Freeze: the distributor keeps their team and customers but earns nothing new."""

    service = staticmethod(lifecycle.distributor_freeze)
    input_class = s.ReasonInput


@_action_schema(s.OptionalReasonInput)
class DistributorUnfreezeApi(_DistributorActionApi):
    """Unfreeze a frozen distributor."""

    service = staticmethod(lifecycle.distributor_unfreeze)
    input_class = s.OptionalReasonInput


@_action_schema(s.ReasonInput)
class DistributorReactivateApi(_DistributorActionApi):
    """Bring a blacklisted distributor back by hand (refused while a live blacklist entry matches them)."""

    service = staticmethod(lifecycle.distributor_reactivate)
    input_class = s.ReasonInput


@_action_schema(s.RemoveInput)
class DistributorRemoveApi(_DistributorActionApi):
    """清退: remove for good; customers are released or handed to the inviter."""

    service = staticmethod(lifecycle.distributor_remove)
    input_class = s.RemoveInput

    def arguments(self, data: dict) -> dict:
        return {"customers": data["customers"]}


@extend_schema(tags=["distributors"])
class DistributorSetLevelApi(_DistributorObjectApi):
    """Set the level by hand; `lock` keeps the automatic recalculation from changing it."""

    required_permissions = {"POST": MANAGE}

    @extend_schema(request=s.SetLevelInput, responses={200: s.DistributorDetailOutput})
    def post(self, request, pk):
        distributor = self.get_object()
        data = self.validate_input(s.SetLevelInput)
        lifecycle.distributor_set_level(
            merchant=self.merchant,
            actor=self.actor,
            distributor_id=distributor.pk,
            level_id=data["level"].pk,
            lock=data["lock"],
            reason=data["reason"],
        )
        return self.detail(distributor)


@extend_schema(tags=["distributors"])
class DistributorLevelHistoryApi(ListMixin, _DistributorObjectApi):
    """A distributor's level history, newest first: every change, who or which tier run made it, and the
    metrics that decided it."""

    serializer_class = s.LevelChangeOutput

    def list(self, request, *args, **kwargs):
        distributor = self.get_object()
        history = (
            LevelChange.objects.for_merchant(self.merchant)
            .filter(distributor=distributor)
            .select_related("old_level", "new_level")
            .order_by("-id")
        )
        page = self.paginate_queryset(history)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema(tags=["distributors"])
class DistributorForfeitCommissionApi(_DistributorObjectApi):
    """Forfeit a blacklisted distributor's commission (the merchant's decision on frozen commission):
    every unsettled line is reversed and the available balance goes back to the merchant, ledgered.
    Money already withdrawing or paid out is not touched. Repeating it forfeits nothing more."""

    required_permissions = {"POST": Perm.MONEY_APPROVE}

    @extend_schema(request=s.ReasonInput, responses={200: s.ForfeitOutput})
    def post(self, request, pk):
        from commissions.services import commission_forfeit

        distributor = self.get_object()
        data = self.validate_input(s.ReasonInput)
        if distributor.status != Distributor.Status.BLACKLISTED:
            raise NotBlacklisted()
        result = commission_forfeit(
            merchant=self.merchant, actor=self.actor, distributor_id=distributor.pk, reason=data["reason"]
        )
        return Response(s.ForfeitOutput(result).data)


@extend_schema(tags=["distributors"])
class DistributorChangeInviterApi(_DistributorObjectApi):
    """换上级: move the distributor and their whole team under another inviter (or to the top)."""

    required_permissions = {"POST": MANAGE}

    @extend_schema(request=s.ChangeInviterInput, responses={200: s.DistributorDetailOutput})
    def post(self, request, pk):
        distributor = self.get_object()
        data = self.validate_input(s.ChangeInviterInput)
        lifecycle.distributor_change_inviter(
            merchant=self.merchant,
            actor=self.actor,
            distributor_id=distributor.pk,
            inviter_id=data["inviter"].pk if data["inviter"] else None,
            reason=data["reason"],
        )
        return self.detail(distributor)


@extend_schema(tags=["distributors"])
class DistributorIdentityApi(_DistributorObjectApi):
    """The merchant's server records a distributor's real-name identity (verified by the merchant)."""

    required_permissions = {"PUT": MANAGE}

    @extend_schema(request=s.MerchantIdentityInput, responses={200: s.DistributorDetailOutput})
    def put(self, request, pk):
        distributor = self.get_object()
        data = self.validate_input(s.MerchantIdentityInput)
        identity.distributor_identity_submit(
            merchant=self.merchant,
            actor=self.actor,
            distributor_id=distributor.pk,
            real_name=data["real_name"],
            id_type=data["id_type"],
            id_number=data["id_number"],
            verified=data["verified"],
        )
        return self.detail(distributor)


@extend_schema(tags=["distributors"])
class DistributorIdentityVerifyApi(_DistributorObjectApi):
    """Mark the identity a distributor submitted as verified."""

    required_permissions = {"POST": MANAGE}

    @extend_schema(request=None, responses={200: s.DistributorDetailOutput})
    def post(self, request, pk):
        distributor = self.get_object()
        identity.distributor_identity_verify(merchant=self.merchant, actor=self.actor, distributor_id=distributor.pk)
        return self.detail(distributor)


def _relative_depth(queryset, anchor: Distributor):
    return queryset.annotate(relative_depth=F("depth") - anchor.depth).select_related("level")


DEPTH_PARAM = OpenApiParameter("depth", int, description="Only this relative depth (1 = direct recruits).")


def _depth_param(request) -> int | None:
    raw = request.query_params.get("depth")
    if raw is None or raw == "":
        return None
    return parse_int(raw, field="depth", minimum=1, maximum=100)


@extend_schema(tags=["distributors"], parameters=[DEPTH_PARAM])
class DistributorTeamApi(ListMixin, _DistributorObjectApi):
    """A distributor's team (direct and indirect recruits), newest first."""

    serializer_class = s.TeamMemberOutput

    def list(self, request, *args, **kwargs):
        anchor = self.get_object()
        team = _relative_depth(selectors.team(anchor, depth=_depth_param(request)), anchor)
        page = self.paginate_queryset(team)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema(tags=["distributors"])
class DistributorCustomersApi(ListMixin, _DistributorObjectApi):
    """The customers bound to a distributor now."""

    serializer_class = s.BindingOutput

    def list(self, request, *args, **kwargs):
        distributor = self.get_object()
        live = bindings.live_bindings(self.merchant).filter(distributor=distributor).select_related("distributor")
        page = self.paginate_queryset(live)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


# --- tier runs (等级升降) ------------------------------------------------------------------------------
@extend_schema(tags=["tiers and risk"])
class TierRunListApi(ListMixin, MerchantApi):
    """Tier recalculations, newest first. They run nightly and after each settlement run; POST asks for
    one now (one runs at a time: while one is pending or running, POST returns it)."""

    model = TierRun
    serializer_class = s.TierRunOutput
    filterset_fields = ["status", "trigger"]
    required_permissions = {"POST": Perm.PROGRAM_MANAGE}

    def scope_queryset(self, queryset):
        return queryset.order_by("-id")

    @extend_schema(summary="Recalculate levels now", request=s.TierRunInput, responses={202: s.TierRunOutput})
    def post(self, request):
        data = self.validate_input(s.TierRunInput)
        run = tiers.tier_request(merchant=self.merchant, as_of=data.get("as_of"), trigger="manual")
        return Response(
            s.TierRunOutput(run).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": reverse("tier-run-detail", kwargs={"pk": run.pk})},
        )


@extend_schema(tags=["tiers and risk"])
class TierRunDetailApi(RetrieveMixin, MerchantApi):
    model = TierRun
    serializer_class = s.TierRunOutput


# --- applications ------------------------------------------------------------------------------------------
@extend_schema(tags=["recruitment"])
class ApplicationListApi(ListMixin, MerchantApi):
    """Applications, newest first. POST applies on a person's behalf (the merchant's server)."""

    model = Application
    serializer_class = s.ApplicationOutput
    filterset_fields = ["status", "channel", "entry", "inviter"]
    required_permissions = {"POST": MANAGE}

    def scope_queryset(self, queryset):
        return queryset.select_related("distributor", "inviter", "entry", "agreement")

    @extend_schema(request=s.ServerApplyInput, responses={201: s.ApplicationOutput})
    def post(self, request):
        data = self.validate_input(s.ServerApplyInput)
        application = applications.application_submit(
            merchant=self.merchant, actor=self.actor, channel=Application.Channel.SERVER, **data
        )
        return Response(s.ApplicationOutput(self.get_queryset().get(pk=application.pk)).data, status=201)


class _ApplicationObjectApi(MerchantApi):
    model = Application
    serializer_class = s.ApplicationOutput

    def scope_queryset(self, queryset):
        return queryset.select_related("distributor", "inviter", "entry", "agreement")


@extend_schema(tags=["recruitment"])
class ApplicationDetailApi(RetrieveMixin, _ApplicationObjectApi):
    pass


@extend_schema(tags=["recruitment"])
class ApplicationApproveApi(_ApplicationObjectApi):
    required_permissions = {"POST": MANAGE}

    @extend_schema(request=s.OptionalReasonInput, responses={200: s.ApplicationOutput})
    def post(self, request, pk):
        application = self.get_object()
        data = self.validate_input(s.OptionalReasonInput)
        applications.application_approve(
            merchant=self.merchant, actor=self.actor, application_id=application.pk, reason=data["reason"]
        )
        return Response(s.ApplicationOutput(self.get_queryset().get(pk=application.pk)).data)


@extend_schema(tags=["recruitment"])
class ApplicationRejectApi(_ApplicationObjectApi):
    required_permissions = {"POST": MANAGE}

    @extend_schema(request=s.ReasonInput, responses={200: s.ApplicationOutput})
    def post(self, request, pk):
        application = self.get_object()
        data = self.validate_input(s.ReasonInput)
        applications.application_reject(
            merchant=self.merchant, actor=self.actor, application_id=application.pk, reason=data["reason"]
        )
        return Response(s.ApplicationOutput(self.get_queryset().get(pk=application.pk)).data)


# --- recruitment entries and agreements ---------------------------------------------------------------------
class _EntryApi(MerchantApi):
    model = RecruitmentEntry
    serializer_class = s.RecruitmentEntryOutput

    def scope_queryset(self, queryset):
        return queryset.select_related("product")

    def entry_data(self, entries):
        program = program_of(self.merchant)
        ids = [e.pk for e in entries]
        counts = {
            row["entry"]: row
            for row in Application.objects.for_merchant(self.merchant)
            .filter(entry__in=ids)
            .values("entry")
            .annotate(applications=Count("id"), approved=Count("id", filter=Q(status=Application.Status.APPROVED)))
        }
        for entry in entries:
            entry.link = recruitment.entry_link(program, entry)
            entry.applications = counts.get(entry.pk, {}).get("applications", 0)
            entry.approved = counts.get(entry.pk, {}).get("approved", 0)
        return entries


@extend_schema(tags=["recruitment"])
class RecruitmentEntryListApi(ListMixin, _EntryApi):
    """Recruitment entries (招募入口): links on the shop home page or a product that record where a
    recruit came from, with how many applied through each."""

    filterset_fields = ["kind", "is_active"]
    required_permissions = {"POST": MANAGE}

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(self.entry_data(page), many=True).data)

    @extend_schema(request=s.RecruitmentEntryInput, responses={201: s.RecruitmentEntryOutput})
    def post(self, request):
        data = self.validate_input(s.RecruitmentEntryInput)
        entry = recruitment.entry_create(merchant=self.merchant, actor=self.actor, **data)
        return Response(self.get_serializer(self.entry_data([entry])[0]).data, status=201)


@extend_schema(tags=["recruitment"])
class RecruitmentEntryDetailApi(_EntryApi):
    required_permissions = {"PATCH": MANAGE}

    def get(self, request, pk):
        return Response(self.get_serializer(self.entry_data([self.get_object()])[0]).data)

    @extend_schema(request=s.RecruitmentEntryUpdateInput)
    def patch(self, request, pk):
        entry = self.get_object()
        data = self.validate_input(s.RecruitmentEntryUpdateInput)
        entry = recruitment.entry_update(merchant=self.merchant, actor=self.actor, entry=entry, changes=data)
        return Response(self.get_serializer(self.entry_data([entry])[0]).data)


@extend_schema(tags=["recruitment"])
class AgreementListApi(ListMixin, MerchantApi):
    """Versions of the distributor agreement; the newest is current and applicants must accept it."""

    model = Agreement
    serializer_class = s.AgreementSerializer
    required_permissions = {"POST": Perm.PROGRAM_MANAGE}

    @extend_schema(request=s.AgreementSerializer, responses={201: s.AgreementSerializer})
    def post(self, request):
        data = self.validate_input(s.AgreementSerializer)
        agreement = recruitment.agreement_publish(merchant=self.merchant, actor=self.actor, **data)
        return Response(self.get_serializer(agreement).data, status=201)


@extend_schema(tags=["recruitment"])
class AgreementDetailApi(RetrieveMixin, MerchantApi):
    model = Agreement
    serializer_class = s.AgreementSerializer


# --- levels ------------------------------------------------------------------------------------------------
class LevelPagination(CursorPagination):
    ordering = "rank"  # unique within the merchant: a stable cursor


@extend_schema(tags=["tiers and risk"])
class LevelListApi(ListMixin, MerchantApi):
    """Levels (分销等级), lowest rank first. The first level created is the default for new distributors."""

    model = Level
    serializer_class = s.LevelSerializer
    pagination_class = LevelPagination
    required_permissions = {"POST": Perm.PROGRAM_MANAGE}

    @extend_schema(request=s.LevelSerializer, responses={201: s.LevelSerializer})
    def post(self, request):
        data = self.validate_input(s.LevelSerializer)
        level = levels.level_create(merchant=self.merchant, actor=self.actor, data=dict(data))
        return Response(self.get_serializer(level).data, status=201)


@extend_schema(tags=["tiers and risk"])
class LevelDetailApi(RetrieveMixin, MerchantApi):
    model = Level
    serializer_class = s.LevelSerializer
    required_permissions = {"PATCH": Perm.PROGRAM_MANAGE, "DELETE": Perm.PROGRAM_MANAGE}

    @extend_schema(request=s.LevelSerializer, responses={200: s.LevelSerializer})
    def patch(self, request, pk):
        level = self.get_object()
        data = self.validate_input(s.LevelSerializer, partial=True)
        level = levels.level_update(merchant=self.merchant, actor=self.actor, level_id=level.pk, changes=dict(data))
        return Response(self.get_serializer(level).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        levels.level_delete(merchant=self.merchant, actor=self.actor, level_id=self.get_object().pk)
        return Response(status=204)


# --- bindings ----------------------------------------------------------------------------------------------
class BindingFilter(FilterSet):
    bound_after = DateTimeFilter(field_name="bound_at", lookup_expr="gte")
    bound_before = DateTimeFilter(field_name="bound_at", lookup_expr="lt")

    class Meta:
        model = CustomerBinding
        fields = ["customer_external_id", "distributor", "status", "source", "end_reason"]


@extend_schema(tags=["customers"])
class BindingListApi(ListMixin, MerchantApi):
    """Customer bindings (客户关系), current and past, newest first."""

    model = CustomerBinding
    serializer_class = s.BindingOutput
    filterset_class = BindingFilter

    def scope_queryset(self, queryset):
        return queryset.select_related("distributor")


@extend_schema(tags=["customers"])
class CustomerBindingApi(MerchantApi):
    """One customer: who they are bound to now, and every binding before."""

    model = CustomerBinding
    lookup_field = "customer_external_id"

    @extend_schema(responses={200: s.CustomerBindingOutput})
    def get(self, request, customer_external_id):
        rows = list(
            self.get_queryset()
            .filter(customer_external_id=customer_external_id)
            .select_related("distributor")
            .order_by("-bound_at", "-id")
        )
        if not rows:
            raise NotFound("No bindings for this customer.")
        live = bindings.live_bindings(self.merchant).filter(customer_external_id=customer_external_id).first()
        return Response(
            s.CustomerBindingOutput(
                {
                    "customer_external_id": customer_external_id,
                    "current": next((r for r in rows if live and r.pk == live.pk), None),
                    "history": rows,
                }
            ).data
        )


@extend_schema(tags=["customers"])
class VisitApi(MerchantApi):
    """A customer opened a distributor's share link: bind them per the program's rules.

    The answer says what happened (`bound`, `already_bound`, `moved`); a refusal is a 4xx with its code
    (`customer_bound_elsewhere`, `binding_protected`, `distributor_not_active`, `self_binding_not_allowed`).
    """

    required_permissions = {"POST": Perm.ORDERS_MANAGE}

    @extend_schema(
        request=s.VisitInput,
        responses={200: s.VisitOutput, 201: s.VisitOutput},
        examples=[
            OpenApiExample(
                "Through a share link",
                request_only=True,
                value={"customer_external_id": "c-1001", "share_code": "K7Q2M9"},
            )
        ],
    )
    def post(self, request):
        data = self.validate_input(s.VisitInput)
        result = bindings.binding_record_visit(merchant=self.merchant, **data)
        binding = (
            CustomerBinding.objects.for_merchant(self.merchant).select_related("distributor").get(pk=result.binding.pk)
        )
        previous = result.previous.distributor if result.previous else None
        body = {"decision": result.decision, "binding": binding, "previous_distributor": previous}
        created = result.decision in ("bound", "moved") and not result.replayed
        return Response(s.VisitOutput(body).data, status=201 if created else 200)


@extend_schema(tags=["customers"])
class BindingTransferApi(MerchantApi):
    """Move a distributor's customers to another distributor, or release them."""

    required_permissions = {"POST": MANAGE}

    @extend_schema(request=s.TransferInput, responses={200: s.TransferOutput})
    def post(self, request):
        data = self.validate_input(s.TransferInput)
        moved = bindings.binding_transfer(
            merchant=self.merchant,
            actor=self.actor,
            from_distributor_id=data["from_distributor"].pk,
            to_distributor_id=data["to_distributor"].pk if data["to_distributor"] else None,
            customer_external_ids=data["customer_external_ids"],
            reason=data["reason"],
        )
        return Response({"moved": moved})


# --- blacklist ---------------------------------------------------------------------------------------------
@extend_schema(tags=["tiers and risk"])
class BlacklistListApi(ListMixin, MerchantApi):
    """The blacklist (黑名单). Adding an entry blacklists every distributor it matches at once."""

    model = BlacklistEntry
    serializer_class = s.BlacklistOutput
    filterset_fields = ["kind", "distributor"]
    required_permissions = {"POST": MANAGE}

    def scope_queryset(self, queryset):
        return queryset.select_related("distributor")

    @extend_schema(request=s.BlacklistInput, responses={201: s.BlacklistAddedOutput})
    def post(self, request):
        data = self.validate_input(s.BlacklistInput)
        entry, affected = blacklist.blacklist_add(
            merchant=self.merchant,
            actor=self.actor,
            kind=data["kind"],
            value=data["value"],
            distributor_id=data["distributor"].pk if data["distributor"] else None,
            reason=data["reason"],
            expires_at=data["expires_at"],
        )
        entry.blacklisted_distributors = affected
        return Response(s.BlacklistAddedOutput(entry).data, status=201)


@extend_schema(tags=["tiers and risk"])
class BlacklistDetailApi(RetrieveMixin, MerchantApi):
    """DELETE takes the entry off the list (kept for the record); it reactivates no one."""

    model = BlacklistEntry
    serializer_class = s.BlacklistOutput
    required_permissions = {"DELETE": MANAGE}

    @extend_schema(responses={200: s.BlacklistOutput})
    def delete(self, request, pk):
        entry = blacklist.blacklist_remove(merchant=self.merchant, actor=self.actor, entry_id=self.get_object().pk)
        return Response(s.BlacklistOutput(entry).data)


# --- the distributor's own API -----------------------------------------------------------------------------
class MyApi(DistributorApi):
    """A distributor-API view about the caller: `me()` is their distributor (404 `not_a_distributor` if none)."""

    def me(self, *, required: bool = True) -> Distributor | None:
        distributor = selectors.distributor_for_user(self.merchant, self.external_user_id)
        if distributor is None and required:
            raise NotADistributor()
        return distributor


@extend_schema(tags=["distributor API"])
class DistributorMeApi(MyApi):
    """The calling app user as the program sees them: status, level, team and progress to the next level."""

    @extend_schema(responses={200: s.DistributorMeOutput})
    def get(self, request):
        from tiers.progress import level_progress

        distributor = self.me(required=False)
        body = {
            "external_user_id": self.external_user_id,
            "merchant": self.merchant,
            "status": distributor.status if distributor else "none",
            "distributor": distributor,
            "team": selectors.team_counts(distributor) if distributor else None,
            "progress": level_progress(distributor) if distributor else None,
        }
        return Response(s.DistributorMeOutput(body, context=self.get_serializer_context()).data)


@extend_schema(tags=["distributor API"])
class DistributorApplyApi(MyApi):
    """Apply to become a distributor (under the inviter whose code you were given)."""

    @extend_schema(
        request=s.ApplyInput,
        responses={201: s.ApplicationOutput},
        examples=[
            OpenApiExample(
                "Invited by another distributor",
                request_only=True,
                value={"display_name": "Bob", "invite_code": "K7Q2M9", "agreement_version": "2026-01"},
            )
        ],
    )
    def post(self, request):
        data = self.validate_input(s.ApplyInput)
        application = applications.application_submit(
            merchant=self.merchant,
            actor=self.actor,
            external_user_id=self.external_user_id,
            channel=Application.Channel.APP,
            **data,
        )
        application = (
            Application.objects.for_merchant(self.merchant)
            .select_related("distributor", "inviter", "entry", "agreement")
            .get(pk=application.pk)
        )
        return Response(s.ApplicationOutput(application).data, status=201)


@extend_schema(tags=["distributor API"])
class DistributorInviteApi(MyApi):
    """My invite code and links (for posters and sharing)."""

    @extend_schema(responses={200: s.InviteOutput})
    def get(self, request):
        distributor = self.me()
        program = program_of(self.merchant)
        return Response(
            {
                "invite_code": distributor.invite_code,
                "invite_link": recruitment.invite_link(program, distributor),
                "share_link": recruitment.share_link(program, distributor),
            }
        )


@extend_schema(tags=["distributor API"], parameters=[DEPTH_PARAM])
class DistributorMyTeamApi(ListMixin, MyApi):
    """My team: direct recruits (depth=1) and theirs, newest first."""

    serializer_class = s.TeamMemberOutput
    model = Distributor

    def list(self, request, *args, **kwargs):
        me = self.me()
        team = _relative_depth(selectors.team(me, depth=_depth_param(request)), me)
        page = self.paginate_queryset(team)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema(tags=["distributor API"])
class DistributorMyCustomersApi(ListMixin, MyApi):
    """Customers bound to me now (their ids masked)."""

    serializer_class = s.MyCustomerOutput
    model = CustomerBinding

    def list(self, request, *args, **kwargs):
        me = self.me()
        page = self.paginate_queryset(bindings.live_bindings(self.merchant).filter(distributor=me))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema(tags=["distributor API"])
class DistributorMyIdentityApi(MyApi):
    """Submit my real name and ID number (stored encrypted; the merchant verifies them)."""

    @extend_schema(request=s.IdentityInput, responses={200: s.DistributorOutput})
    def post(self, request):
        me = self.me()
        data = self.validate_input(s.IdentityInput)
        distributor = identity.distributor_identity_submit(
            merchant=self.merchant, actor=self.actor, distributor_id=me.pk, verified=False, **data
        )
        return Response(s.DistributorOutput(distributor).data)


@extend_schema(tags=["distributor API"])
class DistributorAgreementApi(MyApi):
    """The current agreement; POST accepts a version of it."""

    @extend_schema(responses={200: s.AgreementSerializer})
    def get(self, request):
        agreement = recruitment.current_agreement(self.merchant)
        if agreement is None:
            raise NotFound("This merchant has no distributor agreement.")
        return Response(s.AgreementSerializer(agreement).data)

    @extend_schema(request=s.AcceptAgreementInput, responses={200: s.AgreementSerializer})
    def post(self, request):
        me = self.me()
        data = self.validate_input(s.AcceptAgreementInput)
        agreement = recruitment.current_agreement(self.merchant)
        if agreement is None or agreement.version != data["version"]:
            raise AgreementNotCurrent(fields={"version": ["Not the current version."]})
        recruitment.agreement_accept(merchant=self.merchant, distributor=me, agreement=agreement)
        return Response(s.AgreementSerializer(agreement).data)


@extend_schema(tags=["distributor API"])
class DistributorMyLevelHistoryApi(ListMixin, MyApi):
    """My level history, newest first (upgrades, downgrades and the merchant's changes)."""

    model = LevelChange
    serializer_class = s.LevelChangeOutput

    def list(self, request, *args, **kwargs):
        distributor = self.me()
        history = self.get_queryset().filter(distributor=distributor).select_related("old_level", "new_level")
        page = self.paginate_queryset(history.order_by("-id"))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
