"""A real process dies (SIGKILL) after Alipay answered that the transfer succeeded and before the payout
was committed: the reconciler queries the stored number, and the money moves exactly once."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from distribution import outbox
from ledger.checks import ledger_problems
from settlements import tasks
from settlements.models import Withdrawal
from settlements.services import withdrawals
from tests.builders.settlements import ACTOR, ALIPAY_LOGIN, ALIPAY_NAME, alipay_account, alipay_payee, balances
from tests.processes import ROOT, test_database_url
from tests.stubs.alipay.server import AlipayStub, make_alipay_keys

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

# The payout step in its own process, which kills itself the moment the answer is in, before recording it.
CHILD = textwrap.dedent(
    """
    import os, signal, sys
    import django

    django.setup()
    from settlements import tasks
    from settlements.services import alipay_transfers

    def killed(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    alipay_transfers.transfer_record = killed
    tasks.pay_alipay_withdrawal(int(sys.argv[1]))
    """
)


def test_a_process_killed_after_alipays_success_is_recovered_without_a_second_transfer(merchant, monkeypatch):
    monkeypatch.setattr(outbox, "publish", lambda message_id: False)  # this test runs the payout itself
    config, keys = make_alipay_keys()
    with AlipayStub(keys) as stub:
        alipay_account(merchant, stub, config)
        user_id = stub.add_account(ALIPAY_LOGIN, ALIPAY_NAME)
        payee = alipay_payee(merchant)
        w = withdrawals.withdrawal_request(merchant=merchant, actor=ACTOR, distributor=payee, amount=3000)
        assert w.status == "approved"
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test", "DATABASE_URL": test_database_url()}
        child = subprocess.run(
            [sys.executable, "-c", CHILD, str(w.pk)], cwd=ROOT, env=env, capture_output=True, timeout=120
        )
        assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
        w.refresh_from_db()
        assert (w.status, w.provider_state, w.attempts) == ("processing", "SENT", 1)  # stored before the call
        assert stub.executed_transfers() == {w.out_bill_no: 1} and stub.received_by() == {user_id: 3000}
        assert balances(merchant, payee)["paid_out"] == 0 and ledger_problems(merchant.pk) == []

        assert tasks.reconcile_alipay_transfers() == 1  # the beat job's next minute
        w.refresh_from_db()
        assert (w.status, w.provider_state) == ("paid", "SUCCESS")
        assert [r["endpoint"] for r in stub.request_log()] == ["transfer", "query"]
        assert stub.executed_transfers() == {w.out_bill_no: 1} and stub.received_by() == {user_id: 3000}
        assert balances(merchant, payee) == {
            "pending": 0,
            "available": 1800,
            "withdrawing": 0,
            "paid_out": 3000,
            "receivable": 0,
        }
        assert Withdrawal.objects.unscoped().filter(status="paid").count() == 1
        assert ledger_problems(merchant.pk) == []
