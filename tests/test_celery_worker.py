"""A real Celery worker process, over the real Redis broker, against the test database."""

import pytest
from django.db import connection

from config.celery import app, route_task

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_a_real_worker_runs_a_task_and_returns_its_result():
    from tests.processes import celery_worker

    with celery_worker() as (process, queue):
        result = app.send_task("distribution.ping", args=["hello"], queue=queue)
        value = result.get(timeout=90)
        assert process.poll() is None
    assert value == {"pong": "hello", "database": connection.settings_dict["NAME"]}


def test_tasks_are_acknowledged_late_and_requeued_when_a_worker_dies():
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_transport_options["visibility_timeout"] >= 3600

    def queue(name):
        return route_task(name, (), {}, {})["queue"]

    assert [queue(n) for n in ("settlements.execute_run", "tiers.execute_run", "risk.sweep_all")] == [
        "settlement",
        "tiers",
        "risk",
    ]
    assert queue("distribution.outbox_sweep") == conf.task_default_queue == "default"


def test_a_queue_prefix_renames_every_queue(settings):
    settings.TASK_QUEUE_PREFIX = "staging-"
    assert route_task("tiers.execute_run", (), {}, {}) == {"queue": "staging-tiers"}
    assert route_task("distribution.ping", (), {}, {}) == {"queue": "staging-default"}


def test_a_worker_keeps_its_database_connection_between_tasks():
    """Celery would close it around every task; the worker keeps it (CELERY_DB_REUSE_MAX) and Django
    recycles it by CONN_MAX_AGE and health checks instead."""
    from tests.processes import celery_worker

    def worker_backends() -> set[int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return {row[0] for row in cursor.fetchall()}

    before = worker_backends()
    with celery_worker() as (process, queue):
        seen = []
        for n in range(3):
            app.send_task("distribution.ping", args=[str(n)], queue=queue).get(timeout=90)
            seen.append(worker_backends() - before)
        assert process.poll() is None
    assert len(seen[0]) == 1 and seen[0] == seen[1] == seen[2]  # one connection, the same one each time
