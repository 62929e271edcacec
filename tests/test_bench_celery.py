"""The Celery throughput benchmark runs (tiny) through a real worker against the test database, so that it
cannot rot; no timing is asserted."""

import pytest
import redis
from django.conf import settings
from django.db import connection

from bench import celery_throughput
from commissions.models import CommissionLine
from config.celery import app
from orders.models import Order
from tests import processes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_the_celery_benchmark_runs_pings_and_ingests_orders_on_a_real_worker_and_cleans_up(tmp_path):
    merchant, codes = celery_throughput.prepare_shop("bench-smoke-celery", 30)
    assert len(codes) == 29  # everyone but the root has an inviter

    result = celery_throughput.measure(
        merchant, codes, noop=40, orders=12, database_url=processes.test_database_url(), log=tmp_path / "worker.log"
    )

    noop, ingest = result["rows"]
    assert noop["scenario"] == "celery no-op tasks (4 procs)" and noop["target"] == 0.025
    assert ingest["scenario"] == "celery ingest-as-task (4 procs)" and ingest["target"] is None
    assert (noop["ours"]["n"], ingest["ours"]["n"], noop["raw"]["n"]) == (40, 12, 4 * 40)
    assert noop["raw"] == ingest["raw"]
    assert all(r["ours"]["per_s"] > 0 and r["raw"]["per_s"] > 0 for r in result["rows"])
    # every ping ran on the worker, against this test's database
    assert result["pings"] == [{"pong": str(i), "database": connection.settings_dict["NAME"]} for i in range(40)]
    # every order was ingested by the worker, attributed by its share code, with its two commission lines
    orders = Order.objects.for_merchant(merchant)
    assert sorted(orders.values_list("pk", flat=True)) == sorted(result["order_ids"]) and len(result["order_ids"]) == 12
    assert set(orders.values_list("attribution", flat=True)) == {"share_code"}
    assert orders.filter(distributor__invite_code__in=codes).count() == 12
    lines = CommissionLine.objects.for_merchant(merchant)
    assert lines.count() == result["commission_lines"] == 24
    assert sorted(lines.values_list("depth", flat=True)) == [1] * 12 + [2] * 12
    # nothing left on the broker: no queue, binding or LPUSH list named after the run, no task result
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        assert list(client.scan_iter(match=f"*{result['prefix']}*", count=1000)) == []
        assert len(result["task_ids"]) == 1 + 16 + 40 + 12
        assert client.exists(*[app.backend.get_key_for_task(i) for i in result["task_ids"]]) == 0
    finally:
        client.close()
