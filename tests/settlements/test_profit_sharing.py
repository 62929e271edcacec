"""Profit sharing (分账) as WeChat really answers: the freeze window (settings refused, the wallet paying what
cannot be split in time, the deadline watch), "too soon" refusals by code, asynchronous splits, no split
after a payment's unfreeze, receivers deleted, and the platform key rotating. Against the WeChat Pay stub."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from distribution.models import AuditEvent, JobRun
from distributors.models import Distributor
from ledger.checks import ledger_problems
from merchants.errors import ProfitSharingWindowExceeded
from merchants.models import DistributionProgram
from merchants.roles import Role
from merchants.services.programs import program_update
from settlements import tasks
from settlements.admin import WechatPayAccountForm
from settlements.models import SplitReceiver, SplitRequest, WechatPayAccount
from settlements.services import split_window, splits
from settlements.services.retry import retry_delay
from tests.builders.orders import setup_shop
from tests.builders.settlements import (
    ACTOR,
    INVITER_EARNS,
    SELLER_EARNS,
    balances,
    drive_splits,
    due_order,
    settle,
    wechat_account,
)
from tests.helpers import assert_error
from tests.stubs.wechatpay.keys import make_key_sets
from tests.stubs.wechatpay.server import WechatPayStub

pytestmark = pytest.mark.django_db
TX = "4200000000202612030000000001"
NOW = timezone.now().replace(microsecond=0)


@pytest.fixture
def stub(merchant):
    config, keys = make_key_sets()
    with WechatPayStub(keys) as server:
        wechat_account(merchant, config, server.base_url)
        yield server


@pytest.fixture
def people(stub, merchant):
    """The seller (24.00 an order) and the boss, their inviter (12.00), both with an openid; profit sharing on."""
    shop = setup_shop(merchant)
    program_update(merchant=merchant, actor=ACTOR, changes={"settlement_provider": "wechat_profitsharing"})
    for who in ("seller", "boss"):
        Distributor.objects.for_merchant(merchant).filter(pk=shop[who].pk).update(payout_openid=f"o-{who}")
    return shop


def paid(merchant, people, external_id="o-1", *, days_ago=10, transaction_id=TX, **kwargs):
    """An order paid `days_ago` (completed a day later, so due after the 7 after-sales days)."""
    return due_order(
        merchant,
        people["seller"].invite_code,
        external_id,
        paid_at=NOW - timedelta(days=days_ago),
        payment_transaction_id=transaction_id,
        **kwargs,
    )


def money(merchant, distributor):
    return balances(merchant, distributor)


IN_WALLET = {"pending": 0, "withdrawing": 0, "paid_out": 0, "receivable": 0}


# --- the window, when the settings are saved ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("schedule", "after_sales_days", "freeze_days", "needed"),
    [
        ("daily", 28, 30, None),  # 28 + 1 + 1 = 30: fits exactly
        ("daily", 29, 30, 31),
        ("weekly", 22, 30, None),
        ("weekly", 23, 30, 31),
        ("monthly", 0, 30, 32),  # a month between runs never fits 30 days
        ("monthly", 60, 180, None),  # merchants WeChat allows 180 days
        ("manual", 29, 30, None),  # finance settles by hand: only the after-sales days and a day to split
    ],
)
def test_profit_sharing_settings_must_fit_the_freeze_window(
    stub, merchant, schedule, after_sales_days, freeze_days, needed
):
    WechatPayAccount.objects.for_merchant(merchant).update(profit_sharing_freeze_days=freeze_days)
    changes = {
        "settlement_provider": "wechat_profitsharing",
        "settlement_schedule": schedule,
        "after_sales_days": after_sales_days,
    }
    if needed is None:
        program = program_update(merchant=merchant, actor=ACTOR, changes=changes)
        assert (program.settlement_provider, program.after_sales_days) == ("wechat_profitsharing", after_sales_days)
        return
    with pytest.raises(ProfitSharingWindowExceeded) as refused:
        program_update(merchant=merchant, actor=ACTOR, changes=changes)
    wait = split_window.SCHEDULE_WAIT_DAYS[schedule]
    assert refused.value.extra == {"freeze_days": freeze_days, "days_needed": needed}
    assert refused.value.fields == {
        "after_sales_days": [
            f"{after_sales_days} after-sales days + up to {wait} days until the {schedule} settlement + 1 day to "
            f"split = {needed} days; WeChat holds a payment for splitting {freeze_days} days."
        ]
    }
    program = DistributionProgram.objects.for_merchant(merchant).get()
    assert (program.settlement_provider, program.after_sales_days) == ("wallet", 7)  # nothing written


def test_the_program_api_refuses_a_window_that_cannot_fit_and_writes_nothing(api, merchant):
    # no WeChat account yet: an ordinary merchant's 30 days
    owner = api.staff(merchant, Role.OWNER)
    response = owner.patch(
        "/api/v1/program",
        {"settlement_provider": "wechat_profitsharing", "after_sales_days": 29},
        format="json",
    )
    error = assert_error(response, 422, "profit_sharing_window_exceeded")
    assert (error["freeze_days"], error["days_needed"]) == (30, 31)
    assert list(error["fields"]) == ["after_sales_days"]
    assert not AuditEvent.objects.for_merchant(merchant).filter(action="program.updated").exists()
    # the wallet provider has no window
    ok = owner.patch("/api/v1/program", {"after_sales_days": 29}, format="json")
    assert ok.status_code == 200 and ok.json()["after_sales_days"] == 29


# --- the window at settlement: what cannot be split in time stays in the wallet ------------------------------
def test_an_order_whose_window_ends_within_a_day_is_not_split_and_stays_available(stub, merchant, people):
    paid(merchant, people, days_ago=29)  # the window ends in a day: no time left to split
    settle(merchant)

    assert not SplitRequest.objects.for_merchant(merchant).exists()
    assert stub.request_log() == []
    assert money(merchant, people["seller"]) == {**IN_WALLET, "available": SELLER_EARNS}
    assert money(merchant, people["boss"]) == {**IN_WALLET, "available": INVITER_EARNS}
    assert ledger_problems(merchant.pk) == []


def test_a_split_not_done_when_its_window_ends_expires_and_the_money_returns_to_available(stub, merchant, people):
    paid(merchant, people)
    stub.refuse_splits_too_soon(TX)
    settle(merchant)
    split = SplitRequest.objects.for_merchant(merchant).get()
    assert (split.status, split.deadline_at) == ("created", NOW - timedelta(days=10) + timedelta(days=30))
    assert money(merchant, people["seller"]) == {**IN_WALLET, "withdrawing": SELLER_EARNS, "available": 0}

    SplitRequest.objects.for_merchant(merchant).update(deadline_at=timezone.now() - timedelta(seconds=1))
    drive_splits(merchant)

    split.refresh_from_db()
    assert (split.status, split.last_error) == ("expired", "window_passed")
    assert sorted(SplitReceiver.objects.for_merchant(merchant).values_list("result", "fail_reason", "amount")) == [
        ("closed", "not split: window_passed", INVITER_EARNS),
        ("closed", "not split: window_passed", SELLER_EARNS),
    ]
    assert money(merchant, people["seller"]) == {**IN_WALLET, "available": SELLER_EARNS}
    assert money(merchant, people["boss"]) == {**IN_WALLET, "available": INVITER_EARNS}
    assert stub.executed_splits() == {} and stub.received_by_account() == {}
    assert ledger_problems(merchant.pk) == []


# --- too soon: the code decides, with the shared back-off -------------------------------------------------------
@pytest.mark.parametrize("message", ["订单处理中，暂时无法分账，请稍后重试", "订单正在处理中，请稍后重试"])
def test_too_soon_is_recognised_by_its_code_and_retried_with_the_same_number_and_backoff(
    stub, merchant, people, message
):
    paid(merchant, people)
    stub.refuse_splits_too_soon(TX, message)
    before = timezone.now()
    settle(merchant)
    split = SplitRequest.objects.for_merchant(merchant).get()
    assert (split.status, split.attempts, split.last_error) == ("created", 1, "INVALID_REQUEST")
    assert before + retry_delay(1) <= split.next_attempt_at <= timezone.now() + retry_delay(1)

    SplitRequest.objects.for_merchant(merchant).update(next_attempt_at=timezone.now())
    before = timezone.now()
    splits.splits_dispatch(merchant_id=merchant.pk)
    split.refresh_from_db()
    assert (split.status, split.attempts) == ("created", 2)
    assert before + retry_delay(2) <= split.next_attempt_at <= timezone.now() + retry_delay(2)

    stub.refuse_splits_too_soon(TX, None)  # WeChat has settled the payment to the merchant
    drive_splits(merchant)
    split.refresh_from_db()
    assert split.status == "finished"
    assert [e["status"] for e in stub.request_log("split")] == [400, 400, 200]
    assert {e["number"] for e in stub.request_log("split")} == {split.out_order_no}
    assert stub.received_by_account() == {"o-seller": SELLER_EARNS, "o-boss": INVITER_EARNS}
    assert money(merchant, people["seller"]) == {**IN_WALLET, "available": 0, "paid_out": SELLER_EARNS}


def test_too_soon_for_longer_than_the_patience_expires_into_the_wallet(stub, merchant, people):
    paid(merchant, people)
    stub.refuse_splits_too_soon(TX)
    settle(merchant)
    SplitRequest.objects.for_merchant(merchant).update(created_at=timezone.now() - splits.TOO_SOON_PATIENCE)
    drive_splits(merchant)

    split = SplitRequest.objects.for_merchant(merchant).get()
    assert (split.status, split.last_error) == ("expired", "INVALID_REQUEST")
    assert money(merchant, people["seller"]) == {**IN_WALLET, "available": SELLER_EARNS}
    assert stub.executed_splits() == {}
    assert ledger_problems(merchant.pk) == []


# --- asynchronous splits --------------------------------------------------------------------------------------
def test_a_split_is_processing_after_settlement_and_the_reconciler_finishes_it(stub, merchant, people):
    paid(merchant, people)
    settle(merchant)
    split = SplitRequest.objects.for_merchant(merchant).get()
    assert (split.status, split.attempts) == ("processing", 1)
    assert money(merchant, people["seller"]) == {**IN_WALLET, "available": 0, "withdrawing": SELLER_EARNS}

    tasks.reconcile_payouts.run()  # not due yet: the back-off is respected
    assert stub.request_log("split_query") == []
    SplitRequest.objects.for_merchant(merchant).update(next_attempt_at=timezone.now())
    assert tasks.reconcile_payouts.run() == {"splits": 1, "withdrawals": 0}

    split.refresh_from_db()
    assert (split.status, split.attempts) == ("finished", 2)
    assert len(stub.request_log("split_query")) == 1 and stub.executed_splits() == {split.out_order_no: 1}
    assert money(merchant, people["seller"]) == {**IN_WALLET, "available": 0, "paid_out": SELLER_EARNS}
    assert money(merchant, people["boss"]) == {**IN_WALLET, "available": 0, "paid_out": INVITER_EARNS}
    assert ledger_problems(merchant.pk) == []


# --- unfreeze_unsplit ends splitting for the payment -----------------------------------------------------------
def test_no_split_is_asked_for_a_payment_after_its_unfreeze(stub, merchant, people):
    paid(merchant, people, "o-1")
    settle(merchant)
    drive_splits(merchant)
    first = SplitRequest.objects.for_merchant(merchant).get()
    assert (first.status, first.unfreeze_unsplit) == ("finished", True)
    assert stub.request_log("split")[0]["body"]["unfreeze_unsplit"] is True
    assert stub.unsplit_amount(TX) == 0

    paid(merchant, people, "o-2")  # a second order of the same payment, due later
    settle(merchant)

    assert SplitRequest.objects.for_merchant(merchant).count() == 1
    assert len(stub.request_log("split")) == 1
    assert money(merchant, people["seller"]) == {**IN_WALLET, "available": SELLER_EARNS, "paid_out": SELLER_EARNS}
    assert money(merchant, people["boss"]) == {**IN_WALLET, "available": INVITER_EARNS, "paid_out": INVITER_EARNS}
    assert ledger_problems(merchant.pk) == []


def test_an_orders_beneficiaries_settled_in_different_chunks_share_its_one_split(stub, merchant, people):
    paid(merchant, people)
    run = settle(merchant, chunk_size=1)  # the seller and the boss in separate chunks
    drive_splits(merchant)

    assert run.chunks_done == 2
    split = SplitRequest.objects.for_merchant(merchant).get()
    assert sorted(split.receivers.values_list("account", "amount", "result")) == [
        ("o-boss", INVITER_EARNS, "success"),
        ("o-seller", SELLER_EARNS, "success"),
    ]
    assert stub.received_by_account() == {"o-seller": SELLER_EARNS, "o-boss": INVITER_EARNS}


def test_two_orders_of_one_payment_in_one_run_make_one_split_and_the_other_stays_available(stub, merchant, people):
    paid(merchant, people, "o-1")
    paid(merchant, people, "o-2")
    settle(merchant)
    drive_splits(merchant)

    split = SplitRequest.objects.for_merchant(merchant).get()
    assert (split.order.external_id, split.status) == ("o-1", "finished")
    assert len(stub.request_log("split")) == 1
    assert money(merchant, people["seller"]) == {**IN_WALLET, "available": SELLER_EARNS, "paid_out": SELLER_EARNS}
    assert ledger_problems(merchant.pk) == []


def test_the_reconciler_leaves_the_splits_of_a_run_still_settling(stub, merchant, people):
    paid(merchant, people)
    run = settle(merchant, chunk_size=1, max_chunks=1)  # the run stops after its first chunk
    assert run.status == "running"
    assert SplitRequest.objects.for_merchant(merchant).get().status == "created"

    assert splits.splits_dispatch() == 0
    assert stub.request_log() == []


def test_a_refused_split_does_not_close_its_payment(stub, merchant, people):
    paid(merchant, people, "o-1")
    stub.fail_next("split", "param_error")
    settle(merchant)
    assert SplitRequest.objects.for_merchant(merchant).get().status == "failed"

    paid(merchant, people, "o-2")
    settle(merchant)
    drive_splits(merchant)
    assert sorted(SplitRequest.objects.for_merchant(merchant).values_list("status", flat=True)) == [
        "failed",
        "finished",
    ]
    assert stub.received_by_account() == {"o-seller": SELLER_EARNS, "o-boss": INVITER_EARNS}


# --- receivers are deleted once no open split needs them -----------------------------------------------------
def test_receivers_are_deleted_after_their_last_open_split(stub, merchant, people):
    paid(merchant, people, "o-1", transaction_id="4200000000000000000000000001")
    paid(merchant, people, "o-2", transaction_id="4200000000000000000000000002")
    stub.fail_next("split", "processing", polls=3, number=None)  # the first split takes longer
    settle(merchant)
    first, second = SplitRequest.objects.for_merchant(merchant).order_by("pk")

    SplitRequest.objects.for_merchant(merchant).update(next_attempt_at=timezone.now())
    splits.splits_dispatch(merchant_id=merchant.pk)
    first.refresh_from_db(), second.refresh_from_db()
    assert (first.status, second.status) == ("processing", "finished")
    assert stub.deleted_receivers == []  # the first split still needs both

    drive_splits(merchant)
    assert stub.deleted_receivers == [("PERSONAL_OPENID", "o-boss"), ("PERSONAL_OPENID", "o-seller")]
    assert stub.receivers() == {}

    paid(merchant, people, "o-3", transaction_id="4200000000000000000000000003")
    settle(merchant)  # the next split adds them again
    drive_splits(merchant)
    assert stub.received_by_account() == {"o-seller": 3 * SELLER_EARNS, "o-boss": 3 * INVITER_EARNS}
    assert len(stub.request_log("receivers_delete")) == 4


# --- the platform key rotates ------------------------------------------------------------------------------------
def test_a_rotated_platform_key_is_accepted_once_the_account_knows_it(stub, merchant, people):
    paid(merchant, people)
    new_serial, new_key = stub.rotate_platform_key()
    settle(merchant)
    split = SplitRequest.objects.for_merchant(merchant).get()
    assert split.status == "unknown"  # an answer signed by a key we do not know is no answer
    assert "unknown platform serial" in split.last_error

    account = WechatPayAccount.objects.for_merchant(merchant).get()
    account.other_platform_keys = {new_serial: new_key}
    account.save()
    drive_splits(merchant)

    split.refresh_from_db()
    assert split.status == "finished" and stub.executed_splits() == {split.out_order_no: 1}
    assert money(merchant, people["seller"]) == {**IN_WALLET, "available": 0, "paid_out": SELLER_EARNS}


# --- the deadline watch -------------------------------------------------------------------------------------------
def test_the_watch_reports_unsplit_payments_whose_window_ends_within_three_days(stub, merchant, people):
    paid(merchant, people, "soon-open", days_ago=20, transaction_id="4200000000000000000000000011")
    stub.refuse_splits_too_soon("4200000000000000000000000011")
    settle(merchant)  # its split keeps being refused: still open
    SplitRequest.objects.for_merchant(merchant).update(deadline_at=timezone.now() + timedelta(days=2))
    paid(merchant, people, "not-completed", days_ago=28, completed=False, transaction_id="4200000000000000000000000012")
    paid(merchant, people, "later", days_ago=5, completed=False, transaction_id="4200000000000000000000000013")

    watch = split_window.window_watch(merchant.pk)
    assert watch == split_window.WindowWatch(
        merchant_id=merchant.pk,
        unsettled_orders=1,
        unsettled_amount=SELLER_EARNS + INVITER_EARNS,
        open_splits=1,
        open_amount=SELLER_EARNS + INVITER_EARNS,
    )
    result = tasks.watch_split_windows()
    expected = {
        str(merchant.pk): {
            "unsettled_orders": 1,
            "unsettled_amount": 3600,
            "open_splits": 1,
            "open_amount": 3600,
        }
    }
    assert result == expected
    job = JobRun.objects.filter(job="settlements.watch_split_windows").get()
    assert (job.status, job.result) == ("succeeded", expected)


def test_the_splits_api_lists_each_split_with_its_deadline(api, stub, merchant, other_merchant, people):
    paid(merchant, people)
    stub.refuse_splits_too_soon(TX)
    settle(merchant)
    split = SplitRequest.objects.for_merchant(merchant).get()

    viewer = api.api_key(merchant, Role.VIEWER)
    body = viewer.get("/api/v1/splits?status=created").json()
    assert [row["id"] for row in body["results"]] == [split.pk]
    row = body["results"][0]
    assert (row["order"], row["transaction_id"], row["amount"], row["status"], row["last_error"]) == (
        "o-1",
        TX,
        "36.00",
        "created",
        "INVALID_REQUEST",
    )
    assert row["deadline_at"] == (NOW + timedelta(days=20)).isoformat().replace("+00:00", "Z")
    assert sorted((r["amount"], r["result"]) for r in row["receivers"]) == [("12.00", "pending"), ("24.00", "pending")]
    later = (NOW + timedelta(days=21)).isoformat().replace("+00:00", "Z")
    earlier = (NOW + timedelta(days=19)).isoformat().replace("+00:00", "Z")
    assert len(viewer.get(f"/api/v1/splits?deadline_before={later}").json()["results"]) == 1
    assert viewer.get(f"/api/v1/splits?deadline_before={earlier}").json()["results"] == []
    assert api.api_key(other_merchant, Role.VIEWER).get("/api/v1/splits").json()["results"] == []


# --- the WeChat account in the admin ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("days", "keys", "errors"),
    [
        (30, "{}", {}),
        (
            7,
            "{}",
            {
                "profit_sharing_freeze_days": [
                    "The merchant's program needs 9 days to split (after-sales days, settlement schedule and a "
                    "day to split): change the program first."
                ]
            },
        ),
        (
            30,
            '{"PUB_KEY_ID_2": "not a key"}',
            {"other_platform_keys": ['A JSON object {"serial": "-----BEGIN PUBLIC KEY-----…"}.']},
        ),
        (30, '{"PUB_KEY_ID_2": "-----BEGIN PUBLIC KEY-----\\nMII…"}', {}),
    ],
)
def test_the_admin_keeps_the_freeze_days_compatible_and_the_rotation_keys_well_formed(
    stub, merchant, people, days, keys, errors
):
    account = WechatPayAccount.objects.for_merchant(merchant).get()
    data = {
        field: getattr(account, field)
        for field in ("mchid", "appid", "merchant_serial_no", "platform_serial_no", "platform_public_key", "base_url")
    }
    form = WechatPayAccountForm(
        data={
            **data,
            "transfer_scene_id": "1005",
            # the transfer scene as WeChat requires it (tests/settlements/test_transfers.py checks those rules)
            "transfer_scene_report_infos": json.dumps(
                [
                    {"info_type": "岗位类型", "info_content": "推广员"},
                    {"info_type": "报酬说明", "info_content": "分销佣金"},
                ]
            ),
            "transfer_user_recv_perception": "劳务报酬",
            "transfer_min_amount": account.transfer_min_amount,
            "transfer_max_amount": account.transfer_max_amount,
            "transfer_daily_max_per_user": account.transfer_daily_max_per_user,
            "profit_sharing_freeze_days": days,
            "other_platform_keys": keys,
            "for_merchant": merchant.pk,
        },
        instance=account,
    )
    assert form.errors == errors
