"""Finding 1: a personal identifier has one canonical form, whatever digits it is spelled in, so the
blacklist cannot be bypassed with full-width, Arabic-Indic or superscript digits."""

import pytest

from distribution import crypto
from distribution.identifiers import canonical_id_number, canonical_phone, fold
from distributors.models import Application, Distributor
from merchants.roles import Role
from risk.models import RiskFlag
from tests.builders.distributors import VALID_ID, join
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

PHONE = "13700001111"
SPELLINGS = [
    "１３７００００１１１１",  # full-width
    "١٣٧٠٠٠٠١١١١",  # Arabic-Indic
    "۱۳۷۰۰۰۰۱۱۱۱",  # Extended Arabic-Indic (Persian)
    "१३७००००११११",  # Devanagari
    "+86 137-0000-1111",
    "+８６ １３７ ００００ １１１１",
    "0086 137 0000 1111",
    "(137) 0000.1111",
]
ID_SPELLINGS = [
    VALID_ID.lower(),
    "１１０１０５１９４９１２３１００２Ｘ",  # full-width, including the check letter
    "110105 19491231 002x",
    "110105\u200b19491231002X",  # a zero-width space
    "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X",
]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_of_a_phone_is_one_canonical_phone_and_one_hash(spelling):
    assert canonical_phone(spelling) == PHONE
    assert crypto.keyed_hash("phone", spelling) == crypto.keyed_hash("phone", PHONE)


@pytest.mark.parametrize("spelling", ID_SPELLINGS)
def test_every_spelling_of_an_id_number_is_one_canonical_number_and_one_hash(spelling):
    assert canonical_id_number(spelling) == VALID_ID
    assert crypto.keyed_hash("id_number", spelling) == crypto.keyed_hash("id_number", VALID_ID)


def test_fold_maps_superscripts_and_other_scripts_to_ascii_digits():
    assert fold("²") == "2"
    assert fold("٢٠٢٦") == "2026"
    assert fold("ａｂｃ１") == "abc1"


def _blacklist_phone(api, merchant, value=PHONE):
    response = api.staff(merchant).post(
        "/api/v1/blacklist", {"kind": "phone", "value": value, "reason": "fraud"}, format="json"
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_a_blacklisted_phone_cannot_apply_through_the_distributor_api_in_any_spelling(api, merchant, spelling):
    _blacklist_phone(api, merchant)
    client = api.distributor(merchant, external_user_id="sneaky")
    response = client.post("/api/v1/distributor/apply", {"phone": spelling}, format="json")
    assert_error(response, 403 if response.status_code == 403 else 422, "applicant_blacklisted")
    assert not Distributor.objects.for_merchant(merchant).filter(external_user_id="sneaky").exists()
    assert not Application.objects.for_merchant(merchant).exists()


@pytest.mark.parametrize("spelling", ["١٣٧٠٠٠٠١١١١", "１３７００００１１１１"])
def test_a_phone_blacklisted_in_another_spelling_blocks_the_ascii_one(api, merchant, spelling):
    _blacklist_phone(api, merchant, spelling)
    client = api.distributor(merchant, external_user_id="sneaky")
    response = client.post("/api/v1/distributor/apply", {"phone": PHONE}, format="json")
    assert response.json()["error"]["code"] == "applicant_blacklisted"
    assert not Distributor.objects.for_merchant(merchant).exists()


@pytest.mark.parametrize("spelling", ID_SPELLINGS[1:])
def test_a_blacklisted_id_number_cannot_be_submitted_in_another_spelling(api, merchant, spelling):
    staff = api.staff(merchant)
    assert (
        staff.post(
            "/api/v1/blacklist", {"kind": "id_number", "value": VALID_ID, "reason": "x"}, format="json"
        ).status_code
        == 201
    )
    client = api.distributor(merchant, external_user_id="sneaky")
    response = client.post("/api/v1/distributor/apply", {"real_name": "张三", "id_number": spelling}, format="json")
    assert response.json()["error"]["code"] == "applicant_blacklisted"
    assert not Distributor.objects.for_merchant(merchant).exists()


def test_applications_store_the_canonical_phone(api, merchant):
    client = api.distributor(merchant, external_user_id="fine")
    response = client.post("/api/v1/distributor/apply", {"phone": "+86 １３７-0000-1111"}, format="json")
    assert response.status_code == 201, response.content
    distributor = Distributor.objects.for_merchant(merchant).get(external_user_id="fine")
    assert crypto.decrypt(distributor.phone_encrypted) == PHONE
    assert distributor.phone_masked == "137****1111"
    assert distributor.phone_hash == crypto.keyed_hash("phone", PHONE)


@pytest.mark.parametrize("phone", ["137abc11111", "²³", "+", "1234", "1" * 21, "13700001111\x00"])
def test_a_phone_that_is_not_a_phone_is_refused_with_nothing_written(api, merchant, phone):
    client = api.distributor(merchant, external_user_id="fine")
    error = assert_error(client.post("/api/v1/distributor/apply", {"phone": phone}, format="json"), 400)
    assert "phone" in error["fields"]
    assert not Distributor.objects.for_merchant(merchant).exists()


@pytest.mark.parametrize(
    ("kind", "value"), [("phone", "no digits"), ("id_number", "汉字汉字汉字"), ("id_number", "AB")]
)
def test_blacklist_values_that_are_not_identifiers_are_refused(api, merchant, kind, value):
    staff = api.staff(merchant)
    error = assert_error(
        staff.post("/api/v1/blacklist", {"kind": kind, "value": value, "reason": "x"}, format="json"), 400
    )
    assert "value" in error["fields"]


def test_identity_submitted_in_full_width_is_stored_and_matched_canonically(api, merchant):
    d = join(merchant, "u")
    staff = api.staff(merchant, Role.OPERATOR)
    response = staff.put(
        f"/api/v1/distributors/{d.pk}/identity",
        {"real_name": "张三", "id_number": "１１０１０５１９４９１２３１００２ｘ"},
        format="json",
    )
    assert response.status_code == 200, response.content
    d.refresh_from_db()
    assert crypto.decrypt(d.id_number_encrypted) == VALID_ID
    assert d.id_number_hash == crypto.keyed_hash("id_number", VALID_ID)


def test_the_shared_identity_rule_sees_one_phone_in_two_spellings(merchant):
    from risk.services import risk_sweep

    first = join(merchant, "a", phone=PHONE)
    second = join(merchant, "b", phone="١٣٧٠٠٠٠١١١١")
    assert first.phone_hash == second.phone_hash
    risk_sweep(merchant=merchant)
    flagged = set(
        RiskFlag.objects.for_merchant(merchant).filter(rule="shared_identity").values_list("distributor_id", flat=True)
    )
    assert flagged == {first.pk, second.pk}
