"""Settle a merchant's due commission now: `manage.py settle --merchant demo [--as-of 2026-11-29T00:00+08:00]`."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from distribution import rls
from distribution.auth import Actor
from distribution.errors import ApplicationError
from distribution.inputs import is_ascii_integer
from merchants.models import Merchant
from settlements.services.runs import settlement_execute, settlement_request


class Command(BaseCommand):
    help = "Create a settlement run for a merchant and execute it in this process."

    def add_arguments(self, parser):
        parser.add_argument("--merchant", required=True, help="The merchant's slug or id.")
        parser.add_argument("--as-of", help="ISO 8601 time; lines unlocked by then settle (default now).")

    @rls.bypass()  # an operator's command: it works across merchants
    def handle(self, *args, merchant, as_of=None, **options):
        found = Merchant.objects.filter(slug=merchant).first() or (
            Merchant.objects.filter(pk=int(merchant)).first() if is_ascii_integer(merchant) else None
        )
        if found is None:
            raise CommandError(f"no merchant {merchant!r}")
        when = parse_datetime(as_of) if as_of else None
        if as_of and (when is None or when.tzinfo is None):
            raise CommandError("--as-of needs an ISO 8601 time with a zone, e.g. 2026-11-29T00:00+08:00")
        try:
            run = settlement_request(merchant=found, actor=Actor.system("manage.py settle"), as_of=when)
        except ApplicationError as exc:
            raise CommandError(str(exc)) from exc
        run = settlement_execute(run.pk) or run
        run.refresh_from_db()
        self.stdout.write(
            f"run {run.pk}: {run.status}, {run.lines_done} lines, {run.amount_done} settled "
            f"({run.distributors_done} distributors)"
        )
