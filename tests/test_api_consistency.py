"""One API, the same everywhere: money as decimal strings, one list shape, runs answered alike, one
trailing-slash policy, errors that say what to do, a home page, the schema in JSON."""

from __future__ import annotations

import csv
import io

import pytest
from drf_spectacular.generators import SchemaGenerator

from commissions.models import CommissionLine
from distributors.models import Level
from merchants.roles import Role
from settlements.models import PayoutBatch, Withdrawal
from tests.builders.factories import make_distributor_token
from tests.helpers import assert_error
from tests.money_format import money_keys, schema_violations

pytestmark = pytest.mark.django_db


def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


class TestMoney:
    def test_every_money_property_in_the_schema_is_a_decimal_string(self):
        assert schema_violations(schema()) == []
        # the walk knows what it walks: the amounts the walkthrough reads are among the money properties
        assert {"amount", "price", "available", "receivable", "min_sales_amount", "total"} <= money_keys()

    def test_the_walk_catches_integer_money(self):
        bad = {"components": {"schemas": {"X": {"properties": {"fee": {"type": "integer"}}}}}}
        assert schema_violations(bad) == [".components.schemas.X.fee: integer (money must be a decimal string)"]


class TestShapes:
    def test_levels_are_paginated_like_every_list(self, api, merchant):
        staff = api.staff(merchant, Role.ADMIN)
        for rank in (3, 1, 2):
            staff.post("/api/v1/levels", {"name": f"L{rank}", "rank": rank}, format="json")
        body = staff.get("/api/v1/levels?limit=2").json()
        assert set(body) == {"next", "previous", "results"} and [lv["rank"] for lv in body["results"]] == [1, 2]
        rest = staff.get(body["next"].replace("http://testserver", "")).json()
        assert [lv["rank"] for lv in rest["results"]] == [3] and rest["next"] is None

    def test_settlement_and_tier_runs_answer_alike(self, api, merchant):
        finance, admin = api.staff(merchant, Role.FINANCE), api.staff(merchant, Role.ADMIN)
        settle = finance.post("/api/v1/settlements")
        tier = admin.post("/api/v1/tier-runs")
        for response, kind in ((settle, "settlements"), (tier, "tier-runs")):
            assert response.status_code == 202
            assert response["Location"] == f"/api/v1/{kind}/{response.json()['id']}"
            assert response.json()["status"] in ("pending", "completed")
        # one at a time: asking again while one waits answers that one
        again = finance.post("/api/v1/settlements")
        if settle.json()["status"] == "pending":
            assert again.status_code == 202 and again.json()["id"] == settle.json()["id"]

    def test_the_settlement_run_status_has_its_own_enum(self):
        schemas = schema()["components"]["schemas"]
        status = schemas["SettlementRunOutput"]["properties"]["status"]
        assert status["allOf"][0]["$ref"] == "#/components/schemas/SettlementRunStatusEnum"
        assert schemas["SettlementRunStatusEnum"]["enum"] == ["pending", "running", "completed", "failed"]
        assert schemas["TierRunOutput"]["properties"]["status"]["allOf"][0]["$ref"].endswith("/TierRunStatusEnum")

    def test_post_products_documents_the_single_and_the_batch_body(self):
        operation = schema()["paths"]["/api/v1/products"]["post"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        one_of = schema()["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]["oneOf"]
        assert [ref["$ref"].rsplit("/", 1)[1] for ref in one_of] == ["ProductInputRequest", "ProductBatchInputRequest"]

    def test_me_and_balance_agree_for_someone_who_is_not_a_distributor(self, merchant):
        from rest_framework.test import APIClient

        _, token = make_distributor_token(merchant, external_user_id="wx-stranger")
        client = APIClient(HTTP_AUTHORIZATION=f"Bearer {token}")
        me = client.get("/api/v1/distributor/me")
        assert me.status_code == 200 and me.json()["status"] == "none" and me.json()["distributor"] is None
        balance = client.get("/api/v1/distributor/balance")
        assert balance.status_code == 200
        assert balance.json() == {
            "currency": "CNY",
            "pending": "0.00",
            "available": "0.00",
            "withdrawing": "0.00",
            "paid_out": "0.00",
            "receivable": "0.00",
        }

    def test_the_schema_answers_json_when_asked(self, client):
        response = client.get("/api/schema?format=json")
        assert response.status_code == 200 and response.json()["openapi"].startswith("3.")
        assert client.get("/api/schema")["Content-Type"].startswith("application/vnd.oai.openapi")


class TestTrailingSlash:
    def test_a_get_with_a_slash_is_redirected_and_a_post_is_told(self, api, merchant):
        staff = api.staff(merchant, Role.OWNER)
        redirected = staff.get("/api/v1/program/?x=1")
        assert redirected.status_code == 308 and redirected["Location"] == "/api/v1/program?x=1"
        assert staff.get("/api/schema/").status_code == 308
        error = assert_error(staff.post("/api/v1/levels/", {"name": "x", "rank": 1}, format="json"), 404)
        assert error["code"] == "trailing_slash"
        assert error["message"] == "API paths have no trailing slash: POST /api/v1/levels"
        assert Level.objects.for_merchant(merchant).count() == 0
        assert_error(staff.get("/api/v1/no-such-thing/"), 404, "not_found")


class TestErrors:
    def test_a_403_names_the_permission_and_the_role(self, api, merchant):
        error = assert_error(api.api_key(merchant, Role.VIEWER).post("/api/v1/settlements"), 403, "permission_denied")
        assert error["required_permission"] == "settlement.run" and error["role"] == "viewer"
        assert "'settlement.run'" in error["message"] and "'viewer'" in error["message"]

    def test_identity_not_verified_names_where_to_verify(self):
        from settlements.errors import IdentityNotVerified

        message = IdentityNotVerified().message
        assert "POST /api/v1/distributor/identity" in message
        assert "POST /api/v1/distributors/{id}/identity/verify" in message


class TestHomePage:
    def test_home_links_the_docs_the_admin_and_the_probes(self, client):
        response = client.get("/")
        html = response.content.decode()
        assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
        for href in (
            'href="/api/docs"',
            'href="/api/redoc"',
            'href="/api/schema"',
            'href="/admin/"',
            'href="/healthz"',
            'href="/readyz"',
        ):
            assert href in html
        assert "<script" not in html and "http" not in html.replace("http-equiv", "")


class TestPayoutBatches:
    @pytest.fixture
    def approved(self, api, merchant):
        from tests.builders.settlements import approved_withdrawal

        return approved_withdrawal(merchant)

    def test_an_export_is_idempotent_listed_and_downloadable_again(self, api, merchant, approved):
        finance = api.staff(merchant, Role.FINANCE)
        first = finance.post("/api/v1/withdrawals/export", HTTP_IDEMPOTENCY_KEY="bank-1")
        assert first.status_code == 200 and first["X-Payout-Batch"]
        batch = PayoutBatch.objects.for_merchant(merchant).get()
        again = finance.post("/api/v1/withdrawals/export", HTTP_IDEMPOTENCY_KEY="bank-1")
        assert again["X-Payout-Batch"] == str(batch.pk) and again.content == first.content
        assert PayoutBatch.objects.for_merchant(merchant).count() == 1
        rows = list(csv.reader(io.StringIO(first.content.decode())))
        assert rows[1][0] == approved.out_bill_no and rows[1][8] == str(approved.pk) and len(rows) == 2
        listed = finance.get("/api/v1/payout-batches").json()["results"]
        assert [(b["id"], b["count"], b["withdrawals"]) for b in listed] == [(batch.pk, 1, [approved.pk])]
        assert listed[0]["total"] == f"{approved.net_amount // 100}.{approved.net_amount % 100:02d}"
        download = finance.get(f"/api/v1/payout-batches/{batch.pk}/file")
        assert download.status_code == 200 and download.content == first.content
        assert Withdrawal.objects.for_merchant(merchant).get(pk=approved.pk).status == "processing"
        # a new key is a new export: nothing is waiting, so no batch
        empty = finance.post("/api/v1/withdrawals/export", HTTP_IDEMPOTENCY_KEY="bank-2")
        assert empty.status_code == 200 and empty["X-Payout-Batch"] == ""

    def test_batches_are_finances(self, api, merchant, approved):
        assert_error(api.staff(merchant, Role.OPERATOR).get("/api/v1/payout-batches"), 403, "permission_denied")


def test_commission_lines_show_the_rate_in_its_own_unit(api, merchant):
    from tests.builders.orders import paid_body, setup_shop

    people = setup_shop(merchant)
    body = paid_body(share_code=people["seller"].invite_code)
    assert api.api_key(merchant, Role.OPERATOR).post("/api/v1/orders", body, format="json").status_code == 201
    line = api.staff(merchant, Role.VIEWER).get("/api/v1/commission-lines").json()["results"][0]
    stored = CommissionLine.objects.for_merchant(merchant).get(pk=line["id"])
    assert (line["rate_mode"], line["rate_bps"], line["rate_amount"]) == ("percent", stored.rate_value, None)


class TestReference:
    def test_every_operation_has_a_summary_and_a_description_of_its_own(self):
        from distribution.api.views import BaseApi

        generic = {" ".join((BaseApi.__doc__ or "").split())}
        operations = [op for ops in schema()["paths"].values() for op in ops.values()]
        assert len(operations) > 100
        for operation in operations:
            assert operation.get("summary"), operation["operationId"]
            assert operation.get("description"), operation["operationId"]
            assert " ".join(operation["description"].split()) not in generic, operation["operationId"]
        summaries = [op["summary"] for op in operations]
        assert len(summaries) == len(set(summaries))

    def test_tags_follow_the_main_flow(self):
        generated = schema()
        names = [tag["name"] for tag in generated["tags"]]
        assert names[:12] == [
            "identity",
            "program",
            "distributors",
            "recruitment",
            "customers",
            "products",
            "orders",
            "commissions",
            "settlement",
            "withdrawals",
            "tiers and risk",
            "webhooks",
        ]
        used = {tag for ops in generated["paths"].values() for op in ops.values() for tag in op["tags"]}
        assert used <= set(names)

    def test_the_docs_pages_load_nothing_from_outside(self, client):
        for url in ("/api/docs", "/api/redoc"):
            html = client.get(url).content.decode()
            assert "fonts.googleapis" not in html and "cdn." not in html and "unpkg" not in html
            assert "https://" not in html.replace("https://redocly.com", "")
