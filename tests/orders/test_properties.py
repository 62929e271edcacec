"""Any replay or duplication of an order's events gives the same commission lines as the clean sequence."""

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commissions.models import CommissionLine
from distribution.errors import ApplicationError
from orders.services import intake
from tests.builders.orders import PAID_AT, setup_shop

pytestmark = pytest.mark.django_db
counter = itertools.count()

item_st = st.tuples(st.sampled_from(["tea", "cup"]), st.integers(1, 5), st.integers(1, 20000), st.integers(0, 100))
event_st = st.one_of(
    st.tuples(st.just("shipped")),
    st.tuples(st.just("completed")),
    st.tuples(st.just("closed")),
    st.tuples(st.just("refund_item"), st.integers(0, 2), st.integers(1, 40000)),
    st.tuples(st.just("refund_amount"), st.integers(1, 60000)),
)


def paid(external_id, items, share_code):
    return {
        "external_id": external_id,
        "customer_external_id": f"c-{external_id}",
        "share_code": share_code,
        "paid_at": PAID_AT,
        "shipping_amount": 0,
        "items": [
            {"line_id": f"L{i}", "product": p, "quantity": q, "unit_price": u, "discount": min(d, q * u)}
            for i, (p, q, u, d) in enumerate(items)
        ],
    }


def as_event(step, n):
    kind = step[0]
    if kind == "refund_item":
        return "refunded", {"refund_id": f"r{n}", "items": [{"line_id": f"L{step[1]}", "amount": step[2]}]}
    if kind == "refund_amount":
        return "refunded", {"refund_id": f"r{n}", "amount": step[1]}
    return kind, {}


def apply(merchant, external_id, type_, data, event_id):
    try:
        intake.order_apply_event(
            merchant=merchant, external_id=external_id, type_=type_, data=data, source="api", event_id=event_id
        )
        return True
    except ApplicationError:
        return False


def snapshot(merchant, external_id):
    return sorted(
        CommissionLine.objects.for_merchant(merchant)
        .filter(order__external_id=external_id)
        .values_list("order_item__line_id", "depth", "beneficiary_id", "kind", "status", "amount", "reversed_amount")
    )


@pytest.fixture
def shop(merchant):
    return merchant, setup_shop(merchant)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    items=st.lists(item_st, min_size=1, max_size=3),
    steps=st.lists(event_st, max_size=7),
    noise=st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), max_size=12),
)
def test_replays_and_duplicates_give_the_clean_lines(shop, items, steps, noise):
    merchant, people = shop
    n = next(counter)
    clean_id, noisy_id = f"clean-{n}", f"noisy-{n}"
    for external_id in (clean_id, noisy_id):
        intake.order_ingest_paid(
            merchant=merchant, source="api", data=paid(external_id, items, people["seller"].invite_code)
        )
    events = [as_event(step, i) for i, step in enumerate(steps)]

    # clean: each event once, in order; keep the ones that were accepted
    accepted = [(i, t, d) for i, (t, d) in enumerate(events) if apply(merchant, clean_id, t, d, f"{clean_id}-{i}")]

    # noisy: the accepted events in order, each sent 1-3 times, plus replays of earlier ones at random points
    sent: list[tuple[int, str, dict]] = []
    for position, (i, t, d) in enumerate(accepted):
        copies = 1 + (noise[position][0] % 3 if position < len(noise) else 0)
        for _ in range(copies):
            assert apply(merchant, noisy_id, t, d, f"{noisy_id}-{i}")
        sent.append((i, t, d))
        if position < len(noise) and sent:
            j, tj, dj = sent[noise[position][1] % len(sent)]
            assert apply(merchant, noisy_id, tj, dj, f"{noisy_id}-{j}")  # a replay is always acknowledged
    # and the paid event itself, again
    intake.order_ingest_paid(merchant=merchant, source="api", data=paid(noisy_id, items, people["seller"].invite_code))

    assert snapshot(merchant, noisy_id) == snapshot(merchant, clean_id)
    for *_, kind, _status, amount, reversed_amount in snapshot(merchant, clean_id):
        if kind == "commission":
            assert 0 <= reversed_amount <= amount
