"""The distributor's own API: me, invite links, customers (masked), identity, agreement."""

import pytest

from distributors.models import AgreementAcceptance, Distributor
from distributors.services import bindings, recruitment
from merchants.services.programs import program_update
from tests.builders.distributors import ACTOR, VALID_ID, join
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def test_me_before_and_after_applying(api, merchant):
    app = api.distributor(merchant, "u")
    assert app.get("/api/v1/distributor/me").json()["status"] == "none"
    assert_error(app.get("/api/v1/distributor/invite"), 404, "not_a_distributor")
    assert_error(app.get("/api/v1/distributor/team"), 404, "not_a_distributor")
    program_update(merchant=merchant, actor=ACTOR, changes={"auto_approve_applications": False})
    app.post("/api/v1/distributor/apply", {"display_name": "U"}, format="json")
    me = app.get("/api/v1/distributor/me").json()
    assert me["status"] == "applied" and me["distributor"]["display_name"] == "U"


def test_invite_code_and_links(api, merchant):
    d = join(merchant, "u")
    app = api.distributor(merchant, "u")
    assert app.get("/api/v1/distributor/invite").json() == {
        "invite_code": d.invite_code,
        "invite_link": None,
        "share_link": None,
    }
    program_update(merchant=merchant, actor=ACTOR, changes={"app_base_url": "https://h5.shop.cn"})
    assert app.get("/api/v1/distributor/invite").json() == {
        "invite_code": d.invite_code,
        "invite_link": f"https://h5.shop.cn/distribution/join?invite={d.invite_code}",
        "share_link": f"https://h5.shop.cn/?share={d.invite_code}",
    }


def test_my_customers_are_masked_and_only_mine(api, merchant):
    d = join(merchant, "u")
    other = join(merchant, "v")
    bindings.binding_record_visit(merchant=merchant, customer_external_id="customer-12345", share_code=d.invite_code)
    bindings.binding_record_visit(merchant=merchant, customer_external_id="abc", share_code=d.invite_code)
    bindings.binding_record_visit(merchant=merchant, customer_external_id="theirs-1", share_code=other.invite_code)
    customers = api.distributor(merchant, "u").get("/api/v1/distributor/customers").json()["results"]
    assert sorted(c["customer"] for c in customers) == ["a**", "cu**********45"]


def test_submitting_my_identity(api, merchant):
    join(merchant, "u")
    app = api.distributor(merchant, "u")
    body = app.post("/api/v1/distributor/identity", {"real_name": "周八", "id_number": VALID_ID}, format="json").json()
    assert body["identity"] == {
        "real_name": "周*",
        "id_type": "cn_resident",
        "id_number": "1101**********002X",
        "submitted_at": body["identity"]["submitted_at"],
        "verified": False,
        "verified_at": None,
    }
    assert_error(
        app.post("/api/v1/distributor/identity", {"real_name": "周八", "id_number": "123"}, format="json"),
        400,
        "invalid_id_number",
    )
    assert Distributor.objects.for_merchant(merchant).get(external_user_id="u").identity_verified_at is None


def test_reading_and_accepting_the_agreement(api, merchant):
    d = join(merchant, "u")
    app = api.distributor(merchant, "u")
    assert_error(app.get("/api/v1/distributor/agreement"), 404)
    recruitment.agreement_publish(merchant=merchant, actor=ACTOR, version="v2", title="Rules", body="Be nice")
    assert app.get("/api/v1/distributor/agreement").json()["version"] == "v2"
    assert_error(
        app.post("/api/v1/distributor/agreement", {"version": "v1"}, format="json"), 400, "agreement_not_current"
    )
    assert app.post("/api/v1/distributor/agreement", {"version": "v2"}, format="json").status_code == 200
    assert app.post("/api/v1/distributor/agreement", {"version": "v2"}, format="json").status_code == 200
    assert AgreementAcceptance.objects.for_merchant(merchant).filter(distributor=d).count() == 1
