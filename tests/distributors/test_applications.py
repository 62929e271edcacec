"""Recruitment: applying, the program's rules, the merchant's decision, and every refusal."""

import pytest
from rest_framework.test import APIClient

from distribution import crypto
from distribution.models import AuditEvent
from distributors.models import INVITE_ALPHABET, AgreementAcceptance, Application, Distributor
from distributors.services import blacklist, levels, lifecycle, recruitment
from merchants.roles import Role
from merchants.services.programs import program_update
from tests.builders.distributors import ACTOR, OTHER_VALID_ID, VALID_ID, join, tree
from tests.builders.factories import ProductFactory, make_merchant
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def counts(merchant):
    return (
        Distributor.objects.for_merchant(merchant).count(),
        Application.objects.for_merchant(merchant).count(),
        AuditEvent.objects.for_merchant(merchant).count(),
    )


def apply(client, **body):
    return client.post("/api/v1/distributor/apply", body, format="json")


class TestApplying:
    def test_auto_approved_application_makes_an_active_distributor_at_the_top(self, api, merchant):
        level = levels.level_create(merchant=merchant, actor=ACTOR, data={"name": "Bronze", "rank": 1})
        app = api.distributor(merchant, "wx-1")
        response = apply(app, display_name="Ann", phone="+86 138-0013-8000")
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["status"] == "approved" and body["auto_approved"] is True and body["channel"] == "app"
        assert body["inviter"] is None and body["decided_by"] == "wx-1"
        d = Distributor.objects.for_merchant(merchant).get(external_user_id="wx-1")
        assert d.status == "active" and d.activated_at is not None
        assert (d.depth, d.ancestor_ids, d.inviter_id, d.level_id) == (0, [], None, level.pk)
        assert len(d.invite_code) == 8 and set(d.invite_code) <= set(INVITE_ALPHABET)
        assert d.phone_masked == "138****8000"
        assert crypto.decrypt(d.phone_encrypted) == "13800138000"  # stored in canonical form
        assert d.phone_hash == crypto.keyed_hash("phone", "13800138000")
        actions = list(
            AuditEvent.objects.for_merchant(merchant)
            .filter(object_id=str(d.pk), object_type="distributors.distributor")
            .order_by("id")
            .values_list("action", "changes")
        )
        assert actions == [
            ("distributor.applied", {"status": [None, "applied"], "inviter": [None, None]}),
            ("distributor.status_changed", {"status": ["applied", "active"]}),
        ]

    def test_an_invite_code_puts_the_recruit_under_the_inviter(self, api, merchant):
        t = tree(merchant, {"a": None, "b": "a"})
        client = api.api_key(merchant, Role.OPERATOR)
        response = client.post(
            "/api/v1/applications", {"external_user_id": "c", "invite_code": t["b"].invite_code.lower()}, format="json"
        )
        assert response.status_code == 201
        assert response.json()["inviter"]["id"] == t["b"].pk and response.json()["channel"] == "server"
        c = Distributor.objects.for_merchant(merchant).get(external_user_id="c")
        assert (c.inviter_id, c.ancestor_ids, c.depth) == (t["b"].pk, [t["a"].pk, t["b"].pk], 2)
        assert c.upline_ids(2) == [t["b"].pk, t["a"].pk]

    def test_manual_approval_and_rejection_with_reasons(self, api, merchant):
        program_update(merchant=merchant, actor=ACTOR, changes={"auto_approve_applications": False})
        staff = api.staff(merchant, Role.OPERATOR, username="op")
        first = apply(api.distributor(merchant, "p1")).json()
        second = apply(api.distributor(merchant, "p2")).json()
        assert first["status"] == second["status"] == "pending"
        assert Distributor.objects.for_merchant(merchant).get(external_user_id="p1").status == "applied"
        pending = staff.get("/api/v1/applications?status=pending").json()["results"]
        assert sorted(a["external_user_id"] for a in pending) == ["p1", "p2"]

        approved = staff.post(f"/api/v1/applications/{first['id']}/approve", {"reason": "looks good"}, format="json")
        assert approved.json()["status"] == "approved" and approved.json()["decided_by"] == "op"
        assert_error(staff.post(f"/api/v1/applications/{second['id']}/reject", {}, format="json"), 400, "invalid")
        rejected = staff.post(f"/api/v1/applications/{second['id']}/reject", {"reason": "no shop"}, format="json")
        assert rejected.json()["status"] == "rejected" and rejected.json()["decision_reason"] == "no shop"
        assert Distributor.objects.for_merchant(merchant).get(external_user_id="p2").status == "rejected"
        # deciding twice is a conflict
        error = assert_error(
            staff.post(f"/api/v1/applications/{first['id']}/reject", {"reason": "x"}, format="json"),
            409,
            "invalid_transition",
        )
        assert error["current_status"] == "approved"
        # a rejected person may apply again
        again = apply(api.distributor(merchant, "p2"))
        assert again.status_code == 201 and again.json()["status"] == "pending"
        assert Distributor.objects.for_merchant(merchant).get(external_user_id="p2").status == "applied"

    def test_agreement_must_be_the_current_one_and_its_acceptance_is_recorded(self, api, merchant):
        recruitment.agreement_publish(merchant=merchant, actor=ACTOR, version="2026-01", title="T", body="B")
        recruitment.agreement_publish(merchant=merchant, actor=ACTOR, version="2026-06", title="T", body="B2")
        app = api.distributor(merchant, "u")
        before = counts(merchant)
        for version in (None, "2026-01"):
            body = {"agreement_version": version} if version else {}
            error = assert_error(apply(app, **body), 422, "agreement_not_accepted")
            assert error["current_version"] == "2026-06"
        assert counts(merchant) == before
        assert apply(app, agreement_version="2026-06").status_code == 201
        acceptance = AgreementAcceptance.objects.for_merchant(merchant).get()
        assert acceptance.agreement.version == "2026-06" and acceptance.distributor.external_user_id == "u"

    def test_recruitment_entries_record_where_recruits_came_from(self, api, merchant):
        product = ProductFactory(merchant=merchant, external_id="tea-1")
        program_update(merchant=merchant, actor=ACTOR, changes={"app_base_url": "https://shop.example.com"})
        staff = api.staff(merchant, Role.OPERATOR)
        home = staff.post("/api/v1/recruitment-entries", {"name": "Home", "kind": "shop_home"}, format="json").json()
        entry = staff.post(
            "/api/v1/recruitment-entries", {"name": "Tea page", "kind": "product", "product": "tea-1"}, format="json"
        ).json()
        assert entry["link"] == f"https://shop.example.com/distribution/join?entry={entry['code']}&product=tea-1"
        assert home["link"] == f"https://shop.example.com/distribution/join?entry={home['code']}"
        assert_error(staff.post("/api/v1/recruitment-entries", {"name": "x", "kind": "product"}, format="json"), 400)
        apply(api.distributor(merchant, "r1"), entry_code=entry["code"])
        apply(api.distributor(merchant, "r2"), entry_code=entry["code"].lower())
        listed = {
            e["name"]: (e["applications"], e["approved"])
            for e in staff.get("/api/v1/recruitment-entries").json()["results"]
        }
        assert listed == {"Home": (0, 0), "Tea page": (2, 2)}
        staff.patch(f"/api/v1/recruitment-entries/{entry['id']}", {"is_active": False}, format="json")
        assert_error(apply(api.distributor(merchant, "r3"), entry_code=entry["code"]), 422, "invalid_recruitment_entry")
        assert product.pk


class TestRefusals:
    """Each refusal: a 4xx with its code, and nothing written."""

    def test_invalid_and_foreign_invite_codes(self, api, merchant, other_merchant):
        elsewhere = join(other_merchant, "foreign")
        app = api.distributor(merchant, "u")
        before = counts(merchant)
        assert_error(apply(app, invite_code="ZZZZZZZZ"), 422, "invalid_invite_code")
        assert_error(apply(app, invite_code=elsewhere.invite_code), 422, "invalid_invite_code")
        assert counts(merchant) == before

    def test_self_invite(self, api, merchant):
        program_update(merchant=merchant, actor=ACTOR, changes={"auto_approve_applications": False})
        app = api.distributor(merchant, "me")
        application = apply(app).json()
        api.staff(merchant).post(f"/api/v1/applications/{application['id']}/reject", {"reason": "x"}, format="json")
        me = Distributor.objects.for_merchant(merchant).get(external_user_id="me")
        before = counts(merchant)
        assert_error(apply(app, invite_code=me.invite_code), 422, "self_invite")
        assert counts(merchant) == before

    def test_a_loop_in_the_tree(self, api, merchant):
        t = tree(merchant, {"a": None, "b": "a", "c": "b"})
        # a re-application of "a" under its own descendant "c" would close a loop
        Distributor.objects.for_merchant(merchant).filter(pk=t["a"].pk).update(status="rejected")
        app = api.distributor(merchant, "a")
        before = counts(merchant)
        assert_error(apply(app, invite_code=t["c"].invite_code), 422, "invite_cycle")
        assert counts(merchant) == before
        # and the merchant's re-parenting tool refuses the same loop
        Distributor.objects.for_merchant(merchant).filter(pk=t["a"].pk).update(status="active")
        staff = api.staff(merchant)
        assert_error(
            staff.post(
                f"/api/v1/distributors/{t['a'].pk}/inviter", {"inviter": t["c"].pk, "reason": "x"}, format="json"
            ),
            422,
            "invite_cycle",
        )
        assert_error(
            staff.post(
                f"/api/v1/distributors/{t['a'].pk}/inviter", {"inviter": t["a"].pk, "reason": "x"}, format="json"
            ),
            422,
            "invite_cycle",
        )
        assert Distributor.objects.for_merchant(merchant).get(pk=t["a"].pk).inviter_id is None

    def test_an_inactive_inviter(self, api, merchant):
        inviter = join(merchant, "boss")
        lifecycle.distributor_freeze(merchant=merchant, actor=ACTOR, distributor_id=inviter.pk, reason="audit")
        app = api.distributor(merchant, "u")
        before = counts(merchant)
        assert_error(apply(app, invite_code=inviter.invite_code), 422, "inviter_not_active")
        assert counts(merchant) == before

    def test_a_duplicate_application(self, api, merchant):
        program_update(merchant=merchant, actor=ACTOR, changes={"auto_approve_applications": False})
        app = api.distributor(merchant, "u")
        apply(app)
        before = counts(merchant)
        error = assert_error(apply(app), 409, "already_applied")
        assert error["status"] == "applied"
        join(merchant, "v")
        assert_error(apply(api.distributor(merchant, "v")), 409, "already_applied")
        assert counts(merchant)[:2] == (before[0] + 1, before[1] + 1)  # only v's own join

    @pytest.mark.parametrize(
        ("kind", "value", "body"),
        [
            ("external_user_id", "u", {}),
            ("phone", "13800138000", {"phone": "+86 138 0013 8000"}),
            ("id_number", VALID_ID, {"real_name": "张三", "id_number": VALID_ID.lower()}),
        ],
    )
    def test_a_blacklisted_applicant(self, api, merchant, kind, value, body):
        blacklist.blacklist_add(merchant=merchant, actor=ACTOR, kind=kind, value=value, reason="fraud")
        app = api.distributor(merchant, "u")
        before = counts(merchant)
        assert_error(apply(app, **body), 422, "applicant_blacklisted")
        assert counts(merchant) == before

    def test_a_removed_distributor_cannot_come_back(self, api, merchant):
        d = join(merchant, "u")
        lifecycle.distributor_remove(merchant=merchant, actor=ACTOR, distributor_id=d.pk, reason="fraud")
        assert_error(apply(api.distributor(merchant, "u")), 409, "distributor_removed")

    def test_identity_the_program_requires(self, api, merchant):
        program_update(merchant=merchant, actor=ACTOR, changes={"application_requires_real_name": True})
        app = api.distributor(merchant, "u")
        before = counts(merchant)
        assert_error(apply(app), 422, "identity_required")
        error = assert_error(apply(app, real_name="张三", id_number="110105194912310021"), 400, "invalid_id_number")
        assert "id_number" in error["fields"]
        assert counts(merchant) == before
        response = apply(app, real_name="张三丰", id_number=VALID_ID)
        assert response.status_code == 201
        d = Distributor.objects.for_merchant(merchant).get(external_user_id="u")
        assert (d.real_name_masked, d.id_number_masked, d.id_type) == ("张**", "1101**********002X", "cn_resident")
        assert crypto.decrypt(d.id_number_encrypted) == VALID_ID
        assert d.identity_submitted_at is not None and d.identity_verified_at is None

    def test_bad_input_is_a_400(self, api, merchant):
        app = api.distributor(merchant, "u")
        assert_error(apply(app, phone="call me"), 400, "invalid")
        assert_error(apply(app, external_user_id="someone-else"), 400, "unknown_field")
        assert Distributor.objects.for_merchant(merchant).count() == 0


def test_the_server_can_apply_with_a_verified_identity(api, merchant):
    client = api.api_key(merchant, Role.OPERATOR)
    response = client.post(
        "/api/v1/applications",
        {"external_user_id": "u", "real_name": "李四", "id_number": OTHER_VALID_ID, "identity_verified": True},
        format="json",
    )
    assert response.status_code == 201
    d = Distributor.objects.for_merchant(merchant).get(external_user_id="u")
    assert d.identity_verified and d.id_number_hash == crypto.keyed_hash("id_number", OTHER_VALID_ID)


def test_merchants_do_not_share_people(api):
    a, b = make_merchant("a1"), make_merchant("b1")
    join(a, "same-user")
    assert apply(api.distributor(b, "same-user")).status_code == 201
    assert Distributor.objects.unscoped().filter(external_user_id="same-user").count() == 2


def test_applications_without_a_distributor_token_are_refused():
    assert APIClient().post("/api/v1/distributor/apply", {}, format="json").status_code == 401
