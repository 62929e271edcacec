"""The commission engine's arithmetic, with exact values, and its properties under hypothesis."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commissions.engine import Beneficiary, Item, calculate, cap_amount, kept_after_refund

PROGRAM = {1: 1000, 2: 500, 3: 200}  # 10%, 5%, 2%


def item(paid=10000, quantity=1, enabled=True, overrides=None, id=1):
    return Item(id=id, paid_amount=paid, quantity=quantity, distribution_enabled=enabled, overrides=overrides or {})


def person(id, active=True, rates=None):
    return Beneficiary(id=id, active=active, level_rates=rates or {})


def run(items, people, cap=None, self_purchase=False, allowed=False, program=PROGRAM):
    drafts = calculate(
        items, people, program_rates=program, cap_bps=cap, self_purchase=self_purchase, self_purchase_allowed=allowed
    )
    return [
        (d.item_id, d.depth, d.beneficiary_id, d.rate_source, d.rate_mode, d.rate_value, d.uncapped_amount, d.amount)
        for d in drafts
    ]


class TestRateSources:
    def test_program_default_for_each_depth(self):
        assert run([item(10000)], [person(7), person(8), person(9)]) == [
            (1, 1, 7, "program_default", "percent", 1000, 1000, 1000),
            (1, 2, 8, "program_default", "percent", 500, 500, 500),
            (1, 3, 9, "program_default", "percent", 200, 200, 200),
        ]

    def test_the_beneficiarys_level_rate_beats_the_program(self):
        silver = {1: ("percent", 1500), 2: ("fixed", 300)}
        assert run([item(10000, quantity=2)], [person(7, rates=silver), person(8, rates=silver)]) == [
            (1, 1, 7, "level", "percent", 1500, 1500, 1500),
            (1, 2, 8, "level", "fixed", 300, 600, 600),  # 3.00 per unit × 2
        ]

    def test_a_level_that_does_not_set_a_depth_falls_back_to_the_program(self):
        assert run([item(10000)], [person(7, rates={2: ("percent", 900)})]) == [
            (1, 1, 7, "program_default", "percent", 1000, 1000, 1000)
        ]

    def test_the_product_override_beats_everything(self):
        overrides = {1: ("fixed", 1234), 2: ("percent", 50)}
        gold = {1: ("percent", 3000), 2: ("percent", 3000)}
        assert run([item(10000, quantity=3, overrides=overrides)], [person(7, rates=gold), person(8, rates=gold)]) == [
            (1, 1, 7, "product_override", "fixed", 1234, 3702, 3702),
            (1, 2, 8, "product_override", "percent", 50, 50, 50),
        ]

    def test_zero_rates_make_no_line(self):
        assert run([item(10000)], [person(7), person(8)], program={1: 0, 2: 500}) == [
            (1, 2, 8, "program_default", "percent", 500, 500, 500)
        ]


class TestRounding:
    @pytest.mark.parametrize(
        ("paid", "bps", "expected"),
        [
            (1005, 1000, 101),  # 100.5 -> 101 (half up)
            (1004, 1000, 100),  # 100.4 -> 100
            (15, 3333, 5),  # 4.9995 -> 5
            (1, 4999, 0),  # 0.4999 -> 0: no line
            (1, 5000, 1),  # 0.5 -> 1
        ],
    )
    def test_percent_rounds_half_up_once(self, paid, bps, expected):
        lines = run([item(paid)], [person(7)], program={1: bps})
        assert [line[-1] for line in lines] == ([expected] if expected else [])


class TestCaps:
    def test_a_cap_splits_the_capped_total_in_proportion(self):
        # 20% + 15% of 99.99 = 20.00 + 15.00 (rounded); cap 30% = 29.99 (rounded down) split 20:15
        lines = run([item(9999)], [person(7), person(8)], cap=3000, program={1: 2000, 2: 1500})
        assert [(depth, uncapped, amount) for _, depth, _, _, _, _, uncapped, amount in lines] == [
            (1, 2000, 1714),
            (2, 1500, 1285),
        ]
        assert sum(line[-1] for line in lines) == 2999 == cap_amount(9999, 3000)

    def test_under_the_cap_nothing_changes(self):
        lines = run([item(10000)], [person(7), person(8)], cap=3000)
        assert [line[-1] for line in lines] == [1000, 500]

    def test_fixed_commission_never_exceeds_the_item_even_without_a_cap(self):
        lines = run([item(1000, quantity=1, overrides={1: ("fixed", 900), 2: ("fixed", 900)})], [person(7), person(8)])
        assert [line[-1] for line in lines] == [500, 500]


class TestWhoEarns:
    def test_inactive_beneficiaries_earn_nothing_and_nothing_passes_up(self):
        assert run([item(10000)], [person(7, active=False), person(8), person(9, active=False)]) == [
            (1, 2, 8, "program_default", "percent", 500, 500, 500)
        ]
        assert run([item(10000)], [None, person(8)]) == [(1, 2, 8, "program_default", "percent", 500, 500, 500)]

    @pytest.mark.parametrize(("allowed", "depths"), [(False, [2]), (True, [1, 2])])
    def test_self_purchase_earns_depth_one_only_when_allowed(self, allowed, depths):
        lines = run([item(10000)], [person(7), person(8)], self_purchase=True, allowed=allowed)
        assert [line[1] for line in lines] == depths

    def test_items_out_of_distribution_or_free_earn_nothing(self):
        items = [item(10000, enabled=False, id=1), item(0, id=2), item(500, id=3)]
        assert [line[0] for line in run(items, [person(7)])] == [3]

    def test_no_distributor_no_lines(self):
        assert run([item(10000)], []) == []


class TestRefunds:
    @pytest.mark.parametrize(
        ("amount", "paid", "refunded", "kept"),
        [
            (1000, 10000, 0, 1000),
            (1000, 10000, 2500, 750),
            (1000, 10000, 10000, 0),
            (333, 1000, 500, 167),
            (1, 3, 1, 1),
            (1, 3, 2, 0),
            (0, 100, 50, 0),
        ],
    )
    def test_a_line_keeps_its_share_of_what_was_not_refunded(self, amount, paid, refunded, kept):
        assert kept_after_refund(amount, paid, refunded) == kept


# --- properties ---------------------------------------------------------------------------------------------
rates = st.one_of(
    st.tuples(st.just("percent"), st.integers(0, 10000)), st.tuples(st.just("fixed"), st.integers(0, 10**6))
)
items_strategy = st.lists(
    st.builds(
        lambda pk, paid, qty, ov: Item(pk, paid, qty, True, ov),
        st.integers(1, 10**6),
        st.integers(0, 10**9),
        st.integers(1, 100),
        st.dictionaries(st.integers(1, 3), rates, max_size=3),
    ),
    min_size=1,
    max_size=5,
    unique_by=lambda i: i.id,
)
people_strategy = st.lists(
    st.builds(
        lambda pk, active, lv: Beneficiary(pk, active, lv),
        st.integers(1, 10**6),
        st.booleans(),
        st.dictionaries(st.integers(1, 3), rates, max_size=3),
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(
    items_strategy,
    people_strategy,
    st.one_of(st.none(), st.integers(0, 10000)),
    st.fixed_dictionaries({1: st.integers(0, 5000), 2: st.integers(0, 3000), 3: st.integers(0, 2000)}),
)
def test_commission_never_exceeds_base_times_cap(items, people, cap, program):
    drafts = calculate(
        items, people, program_rates=program, cap_bps=cap, self_purchase=False, self_purchase_allowed=False
    )
    by_item: dict[int, int] = {}
    for d in drafts:
        assert d.amount > 0 and d.amount <= d.uncapped_amount
        by_item[d.item_id] = by_item.get(d.item_id, 0) + d.amount
    for it in items:
        limit = Decimal(it.paid_amount) * Decimal(min(cap if cap is not None else 10000, 10000)) / 10000
        assert by_item.get(it.id, 0) <= limit


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**9), st.integers(1, 10**9), st.lists(st.integers(0, 10**9), max_size=8), st.randoms())
def test_reversals_never_exceed_and_a_full_refund_nets_zero_whatever_the_order(amount, paid, partials, rnd):
    # partial refunds, in any order, capped at what was paid, then the rest
    refunds, left = [], paid
    for p in partials:
        part = min(p, left)
        refunds.append(part)
        left -= part
    refunds.append(left)
    for order in (refunds, rnd.sample(refunds, len(refunds))):
        reversed_total, refunded = 0, 0
        for part in order:
            refunded += part
            target = amount - kept_after_refund(amount, paid, refunded)
            assert target >= reversed_total  # never gives back what was taken
            reversed_total = target
            assert reversed_total <= amount
        assert amount - reversed_total == 0
