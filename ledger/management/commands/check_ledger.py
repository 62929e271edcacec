"""Check the ledger's invariants from scratch; exit non-zero on any violation."""

from django.core.management.base import BaseCommand, CommandError

from distribution import rls
from ledger.checks import ledger_problems


class Command(BaseCommand):
    help = "Check that every ledger transaction balances and every balance equals its postings."

    def add_arguments(self, parser):
        parser.add_argument("--merchant", type=int, help="Only this merchant's books.")

    @rls.bypass()  # an operator's command: it works across merchants
    def handle(self, *args, merchant=None, **options):
        problems = ledger_problems(merchant)
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} ledger problem(s)")
        self.stdout.write("ledger ok")
