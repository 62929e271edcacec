"""Tier recalculation (等级升降): every upgrade and downgrade rule with exact metrics in the level history,
idempotence, chunking and resumption, agreement with the progress view, and the API."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from distributors.models import Distributor, Level, LevelChange
from distributors.services import bindings, levels, lifecycle
from merchants.roles import Role
from merchants.services.programs import program_update
from tests.builders.distributors import ACTOR, join, tree
from tests.builders.orders import raw_order
from tests.helpers import assert_error
from tiers import services as tiers
from tiers.models import TierRun
from tiers.progress import distributor_metrics, evaluate

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


order = raw_order


def make_levels(merchant, *specs: dict) -> list[Level]:
    return [levels.level_create(merchant=merchant, actor=ACTOR, data=spec) for spec in specs]


def recalculate(merchant, as_of: datetime | None = None, **execute) -> TierRun:
    run = tiers.tier_request(merchant=merchant, as_of=as_of or timezone.now(), trigger="manual")
    tiers.tier_execute(run.pk, **execute)
    return TierRun.objects.get(pk=run.pk)


def level_of(distributor: Distributor) -> str:
    distributor.refresh_from_db()
    return distributor.level.name


def history(distributor: Distributor) -> list[tuple]:
    return list(
        LevelChange.objects.filter(distributor=distributor)
        .order_by("id")
        .values_list("old_level__name", "new_level__name", "direction")
    )


@pytest.fixture
def ladder(merchant):
    """Bronze (default); Silver: ¥1,000 sales in 30 days; Gold: 2 direct recruits and 3 bound customers."""
    return make_levels(
        merchant,
        {"name": "Bronze", "rank": 1},
        {"name": "Silver", "rank": 2, "window_days": 30, "min_sales_amount": 100_000},
        {"name": "Gold", "rank": 3, "condition_mode": "all", "min_direct_recruits": 2, "min_bound_customers": 3},
    )


class TestUpgrades:
    def test_sales_in_the_window_net_of_refunds_upgrade_at_once_with_the_metrics_recorded(self, merchant, ladder):
        seller = join(merchant, "seller")
        now = timezone.now()
        order(merchant, seller, 60_000, now - timedelta(days=40))  # outside the 30 days
        order(merchant, seller, 70_000, now - timedelta(days=5), refunded=20_000)  # counts 50,000
        order(merchant, seller, 30_000, now - timedelta(days=2), refunded=30_000)  # fully refunded: nothing
        order(merchant, seller, 90_000, now - timedelta(days=1), status="closed")  # closed: nothing
        first = recalculate(merchant, now)
        assert (first.evaluated, first.upgraded, first.downgraded, level_of(seller)) == (1, 0, 0, "Bronze")

        order(merchant, seller, 49_999, now - timedelta(days=1))
        assert level_of(seller) == "Bronze" and recalculate(merchant, now).upgraded == 0  # 99,999 < 100,000
        order(merchant, seller, 1, now - timedelta(hours=1))
        run = recalculate(merchant, now)
        assert (run.evaluated, run.upgraded, run.downgraded, run.status) == (1, 1, 0, "completed")
        assert level_of(seller) == "Silver"
        change = LevelChange.objects.get(distributor=seller)
        assert (change.old_level.name, change.new_level.name, change.direction, change.run_id) == (
            "Bronze",
            "Silver",
            "up",
            run.pk,
        )
        assert change.metrics == {
            "earned_rank": 2,
            "windows": {
                "all": {"sales_amount": 160_000, "order_count": 4, "direct_recruits": 0, "bound_customers": 0},
                "30d": {"sales_amount": 100_000, "order_count": 3, "direct_recruits": 0, "bound_customers": 0},
            },
        }
        seller.refresh_from_db()
        assert seller.level_changed_at == now

    def test_all_conditions_must_hold_in_all_mode_and_the_highest_earned_level_wins(self, merchant, ladder):
        people = tree(merchant, {"boss": None, "r1": "boss", "r2": "boss"})
        boss = people["boss"]
        for n in (1, 2):
            bindings.binding_record_visit(merchant=merchant, customer_external_id=f"c{n}", share_code=boss.invite_code)
        order(merchant, boss, 100_000, timezone.now() - timedelta(days=1))
        recalculate(merchant)
        assert level_of(boss) == "Silver"  # 2 recruits but 2 customers: not Gold; the sales make Silver

        bindings.binding_record_visit(merchant=merchant, customer_external_id="c3", share_code=boss.invite_code)
        run = recalculate(merchant)
        assert level_of(boss) == "Gold" and (run.evaluated, run.upgraded) == (3, 1)
        assert history(boss) == [("Bronze", "Silver", "up"), ("Silver", "Gold", "up")]
        assert LevelChange.objects.filter(distributor=boss).last().metrics["windows"]["all"] == {
            "sales_amount": 100_000,
            "order_count": 1,
            "direct_recruits": 2,
            "bound_customers": 3,
        }

    def test_a_level_can_be_skipped_on_the_way_up(self, merchant, ladder):
        people = tree(merchant, {"boss": None, "r1": "boss", "r2": "boss"})
        for n in (1, 2, 3):
            bindings.binding_record_visit(
                merchant=merchant, customer_external_id=f"c{n}", share_code=people["boss"].invite_code
            )
        recalculate(merchant)
        assert history(people["boss"]) == [("Bronze", "Gold", "up")]

    def test_any_mode_needs_one_condition(self, merchant):
        make_levels(
            merchant,
            {"name": "Bronze", "rank": 1},
            {"name": "Silver", "rank": 2, "window_days": 7, "min_sales_amount": 50_000, "min_order_count": 3},
        )
        by_sales, by_count, neither = (join(merchant, name) for name in ("by-sales", "by-count", "neither"))
        now = timezone.now()
        order(merchant, by_sales, 50_000, now - timedelta(days=1))
        for _ in range(3):
            order(merchant, by_count, 100, now - timedelta(days=6))
        order(merchant, neither, 49_999, now - timedelta(days=1))
        order(merchant, neither, 10, now - timedelta(days=8))
        order(merchant, neither, 10, now - timedelta(days=8))
        run = recalculate(merchant, now)
        assert [level_of(d) for d in (by_sales, by_count, neither)] == ["Silver", "Silver", "Bronze"]
        assert (run.evaluated, run.upgraded) == (3, 2)

    def test_recruits_and_customers_count_by_their_window_and_current_state(self, merchant):
        make_levels(
            merchant,
            {"name": "Bronze", "rank": 1},
            {"name": "Leader", "rank": 2, "window_days": 30, "min_direct_recruits": 2},
        )
        people = tree(merchant, {"boss": None, "old": "boss", "new": "boss", "gone": "boss"})
        Distributor.objects.filter(pk=people["old"].pk).update(activated_at=timezone.now() - timedelta(days=31))
        lifecycle.distributor_remove(
            merchant=merchant, actor=ACTOR, distributor_id=people["gone"].pk, reason="left", customers="release"
        )
        recalculate(merchant)
        assert level_of(people["boss"]) == "Bronze"  # only "new" counts: "old" is outside, "gone" is removed
        join(merchant, "newer", people["boss"])
        recalculate(merchant)
        assert level_of(people["boss"]) == "Leader"

    def test_locked_and_inactive_distributors_are_left_alone(self, merchant, ladder):
        bronze = ladder[0]
        locked, frozen, free = (join(merchant, name) for name in ("locked", "frozen", "free"))
        lifecycle.distributor_set_level(
            merchant=merchant, actor=ACTOR, distributor_id=locked.pk, level_id=bronze.pk, lock=True, reason="deal"
        )
        lifecycle.distributor_freeze(merchant=merchant, actor=ACTOR, distributor_id=frozen.pk, reason="check")
        for distributor in (locked, frozen, free):
            order(merchant, distributor, 200_000, timezone.now() - timedelta(days=1))
        run = recalculate(merchant)
        assert (run.evaluated, run.upgraded) == (1, 1)
        assert [level_of(d) for d in (locked, frozen, free)] == ["Bronze", "Bronze", "Silver"]

    def test_a_level_without_conditions_is_only_given_by_hand(self, merchant, ladder):
        vip = make_levels(merchant, {"name": "VIP", "rank": 9})[0]
        seller = join(merchant, "seller")
        order(merchant, seller, 10_000_000, timezone.now() - timedelta(days=1))
        recalculate(merchant)
        assert level_of(seller) == "Silver"
        lifecycle.distributor_set_level(
            merchant=merchant, actor=ACTOR, distributor_id=seller.pk, level_id=vip.pk, lock=False, reason="partner"
        )
        recalculate(merchant)  # no downgrades configured: the manual level stays
        assert level_of(seller) == "VIP"
        assert history(seller) == [("Bronze", "Silver", "up"), ("Silver", "VIP", "manual")]
        assert LevelChange.objects.filter(distributor=seller).last().reason == "partner"


class TestIdempotence:
    def test_running_the_same_evaluation_again_changes_nothing(self, merchant, ladder):
        sellers = [join(merchant, f"s{n}") for n in range(4)]
        at = timezone.now()
        for n, seller in enumerate(sellers):
            order(merchant, seller, 50_000 * n, at - timedelta(days=1))
        first = recalculate(merchant, at)
        second = recalculate(merchant, at)
        assert (first.upgraded, second.upgraded, second.downgraded, second.evaluated) == (2, 0, 0, 4)
        assert LevelChange.objects.count() == 2
        assert tiers.tier_execute(first.pk) is None  # a finished run is not worked again

    def test_one_run_at_a_time(self, merchant, ladder):
        first = tiers.tier_request(merchant=merchant)
        assert tiers.tier_request(merchant=merchant).pk == first.pk
        tiers.tier_execute(first.pk)
        assert tiers.tier_request(merchant=merchant).pk != first.pk

    def test_small_chunks_and_a_takeover_give_the_levels_of_one_clean_pass(self, merchant, ladder):
        sellers = [join(merchant, f"s{n}") for n in range(7)]
        at = timezone.now()
        for n, seller in enumerate(sellers):
            order(merchant, seller, 40_000 * n, at - timedelta(days=1))
        run = tiers.tier_request(merchant=merchant, as_of=at)
        tiers.tier_execute(run.pk, worker="w1", chunk_size=2, max_chunks=2)  # w1 dies after 4 distributors
        run.refresh_from_db()
        assert (run.status, run.evaluated, run.cursor) == ("running", 4, sellers[3].pk + 1)
        assert tiers.tier_execute(run.pk, worker="w2", chunk_size=2) is None  # w1's lease still holds
        done = tiers.tier_execute(run.pk, worker="w2", chunk_size=2, lease=timedelta(0))
        assert (done.status, done.evaluated, done.upgraded, done.attempts) == ("completed", 7, 4, 2)
        assert [level_of(s) for s in sellers] == ["Bronze"] * 3 + ["Silver"] * 4
        assert LevelChange.objects.count() == 4


class TestDowngrades:
    """Bronze (default), Silver (¥1,000 in 30 days), Gold (¥5,000 in 30 days); monthly; grace 10 days.
    The seller earned Gold with a sale on Dec 1; by Jan 1 it is outside the 30 days."""

    @pytest.fixture
    def seller(self, merchant):
        make_levels(
            merchant,
            {"name": "Bronze", "rank": 1},
            {"name": "Silver", "rank": 2, "window_days": 30, "min_sales_amount": 100_000},
            {"name": "Gold", "rank": 3, "window_days": 30, "min_sales_amount": 500_000},
        )
        seller = join(merchant, "seller")
        order(merchant, seller, 600_000, local(2026, 12, 1, 12))
        program_update(
            merchant=merchant,
            actor=ACTOR,
            changes={"level_downgrade_enabled": True, "level_downgrade_grace_days": 10},
        )
        assert recalculate(merchant, local(2026, 12, 2, 3)).downgrades is False  # the first run ever
        assert level_of(seller) == "Gold"
        return seller

    def test_once_per_period_and_one_level_at_a_time(self, merchant, seller):
        # still December: the sale is outside the window, but downgrades wait for the period's end
        same = recalculate(merchant, local(2026, 12, 31, 23))
        assert (same.downgrades, same.downgraded, level_of(seller)) == (False, 0, "Gold")

        # January's first run closes December: one level down (Bronze earned, so Silver), with the metrics
        closing = recalculate(merchant, local(2027, 1, 1, 3))
        assert (closing.downgrades, closing.period, closing.downgraded, level_of(seller)) == (
            True,
            "2027-1m0",
            1,
            "Silver",
        )
        change = LevelChange.objects.filter(distributor=seller).last()
        assert (change.direction, change.run_id, change.metrics) == (
            "down",
            closing.pk,
            {
                "earned_rank": 1,
                "windows": {"30d": {"sales_amount": 0, "order_count": 0, "direct_recruits": 0, "bound_customers": 0}},
            },
        )
        # later runs in January do not downgrade again
        later = recalculate(merchant, local(2027, 1, 20, 3))
        assert (later.downgrades, level_of(seller)) == (False, "Silver")
        # February's first run: Bronze
        february = recalculate(merchant, local(2027, 2, 1, 3))
        assert (february.downgrades, february.downgraded, level_of(seller)) == (True, 1, "Bronze")
        assert history(seller) == [("Bronze", "Gold", "up"), ("Gold", "Silver", "down"), ("Silver", "Bronze", "down")]

    def test_not_within_the_grace_days_of_the_last_change(self, merchant, seller):
        Distributor.objects.filter(pk=seller.pk).update(level_changed_at=local(2026, 12, 25, 3))
        january = recalculate(merchant, local(2027, 1, 1, 3))  # 7 days after the change: kept
        assert (january.downgrades, january.downgraded, level_of(seller)) == (True, 0, "Gold")
        assert recalculate(merchant, local(2027, 1, 20, 3)).downgraded == 0  # January is closed already
        assert recalculate(merchant, local(2027, 2, 1, 3)).downgraded == 1
        assert level_of(seller) == "Silver"

    def test_a_distributor_who_still_earns_their_level_keeps_it(self, merchant, seller):
        order(merchant, seller, 500_000, local(2026, 12, 30, 12))
        january = recalculate(merchant, local(2027, 1, 1, 3))
        assert (january.downgrades, january.downgraded, level_of(seller)) == (True, 0, "Gold")

    def test_nothing_goes_down_when_the_program_does_not_enable_downgrades(self, merchant, seller):
        program_update(merchant=merchant, actor=ACTOR, changes={"level_downgrade_enabled": False})
        run = recalculate(merchant, local(2027, 2, 1, 3))
        assert (run.downgrades, run.downgraded, level_of(seller)) == (False, 0, "Gold")

    def test_enabling_downgrades_mid_period_waits_for_the_next_period(self, merchant, seller):
        program_update(merchant=merchant, actor=ACTOR, changes={"level_downgrade_enabled": False})
        recalculate(merchant, local(2027, 1, 1, 3))
        program_update(merchant=merchant, actor=ACTOR, changes={"level_downgrade_enabled": True})
        assert recalculate(merchant, local(2027, 1, 2, 3)).downgrades is False
        assert level_of(seller) == "Gold"
        assert recalculate(merchant, local(2027, 2, 1, 3)).downgraded == 1

    def test_quarterly_periods(self, merchant, seller):
        program_update(merchant=merchant, actor=ACTOR, changes={"level_evaluation_months": 3})
        assert recalculate(merchant, local(2027, 2, 1, 3)).downgrades is True  # Q4 2026 → Q1 2027
        assert recalculate(merchant, local(2027, 3, 1, 3)).downgrades is False  # still Q1
        assert recalculate(merchant, local(2027, 4, 1, 3)).period == "2027-3m1"


def test_the_sql_agrees_with_the_progress_view_on_random_data(merchant):
    """For random orders, recruits and customers, the level each distributor earns in one SQL pass is the
    highest level whose conditions distributors.progress (the ORM, one distributor at a time) says hold."""
    rng = random.Random(20261129)
    ladder = make_levels(
        merchant,
        {"name": "L1", "rank": 1},
        {"name": "L2", "rank": 2, "window_days": 15, "min_sales_amount": 30_000, "min_order_count": 4},
        {"name": "L3", "rank": 3, "condition_mode": "all", "min_direct_recruits": 2, "min_bound_customers": 2},
        {
            "name": "L4",
            "rank": 4,
            "window_days": 60,
            "condition_mode": "all",
            "min_sales_amount": 80_000,
            "min_order_count": 5,
            "min_direct_recruits": 1,
        },
    )
    people: list[Distributor] = []
    for n in range(30):
        inviter = rng.choice(people) if people and rng.random() < 0.7 else None
        people.append(join(merchant, f"d{n}", inviter))
    base = timezone.now()
    for _ in range(160):
        who = rng.choice(people)
        amount = rng.randrange(1_000, 40_000)
        order(
            merchant,
            who,
            amount,
            base - timedelta(days=rng.randrange(0, 90), minutes=1),
            refunded=rng.choice([0, 0, 0, amount // 2, amount]),
            status=rng.choice(["paid", "completed", "closed"]),
        )
    for n in range(50):
        bindings.binding_record_visit(
            merchant=merchant, customer_external_id=f"c{n}", share_code=rng.choice(people).invite_code
        )
    now = timezone.now()
    expected = {}
    for person in people:
        earned = ladder[0]
        for level in ladder[1:]:
            met, _ = evaluate(level, distributor_metrics(person, window_days=level.window_days, now=now))
            if met:
                earned = level
        expected[person.pk] = earned.name
    recalculate(merchant, now, chunk_size=7)
    got = dict(Distributor.objects.filter(merchant=merchant).values_list("pk", "level__name"))
    assert got == expected
    assert len(set(expected.values())) >= 3  # the data reaches several levels


class TestApi:
    def test_request_list_and_read_runs_and_history(self, api, merchant, ladder):
        seller = join(merchant, "seller")
        order(merchant, seller, 100_000, timezone.now() - timedelta(days=1))
        admin = api.staff(merchant, Role.ADMIN)
        response = admin.post("/api/v1/tier-runs", {}, format="json")
        assert response.status_code == 202, response.content
        body = response.json()
        assert (body["status"], body["trigger"], body["downgrades"]) == ("pending", "manual", False)
        # one at a time: asking again returns the same run
        assert admin.post("/api/v1/tier-runs", {}, format="json").json()["id"] == body["id"]
        tiers.tier_execute(body["id"])
        detail = admin.get(f"/api/v1/tier-runs/{body['id']}").json()
        assert (detail["status"], detail["evaluated"], detail["upgraded"]) == ("completed", 1, 1)
        assert [r["id"] for r in admin.get("/api/v1/tier-runs").json()["results"]] == [body["id"]]
        rows = admin.get(f"/api/v1/distributors/{seller.pk}/level-history").json()["results"]
        assert [(r["old_level"]["name"], r["new_level"]["name"], r["direction"], r["run"]) for r in rows] == [
            ("Bronze", "Silver", "up", body["id"])
        ]
        assert rows[0]["metrics"]["windows"]["30d"]["sales_amount"] == "1000.00"
        mine = api.distributor(merchant, external_user_id="seller").get("/api/v1/distributor/level-history")
        assert [r["new_level"]["name"] for r in mine.json()["results"]] == ["Silver"]

    def test_only_program_managers_request_runs_and_bad_input_is_refused(self, api, merchant, ladder):
        assert_error(
            api.staff(merchant, Role.OPERATOR).post("/api/v1/tier-runs", {}, format="json"), 403, "permission_denied"
        )
        admin = api.staff(merchant, Role.ADMIN)
        assert_error(admin.post("/api/v1/tier-runs", {"as_of": "yesterday"}, format="json"), 400, "invalid")
        assert not TierRun.objects.exists()
