"""Recompute the analytics rollups from the base tables; exit non-zero on any difference."""

from django.core.management.base import BaseCommand, CommandError

from analytics.verify import rollup_problems
from distribution import rls


class Command(BaseCommand):
    help = "Check that every daily rollup, buyer fact and repurchase snapshot equals its base-table answer."

    def add_arguments(self, parser):
        parser.add_argument("--merchant", type=int, help="Only this merchant's figures.")

    @rls.bypass()  # an operator's command: it works across merchants
    def handle(self, *args, merchant=None, **options):
        problems = rollup_problems(merchant)
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} rollup difference(s)")
        self.stdout.write("rollups ok")
