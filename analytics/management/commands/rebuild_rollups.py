"""Rebuild the analytics rollups of one merchant or all from the base tables (after a restore, a time-zone
change or a new definition)."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from analytics.refresh import current_tops, rebuild_merchant, record_rebuild
from distribution import rls
from merchants.models import Merchant


class Command(BaseCommand):
    help = "Recompute every daily rollup, buyer fact and repurchase snapshot from the base tables."

    def add_arguments(self, parser):
        parser.add_argument("--merchant", type=int, help="Only this merchant.")

    @rls.bypass()  # an operator's command: it works across merchants
    def handle(self, *args, merchant=None, **options):
        started_at, tops = timezone.now(), current_tops()
        merchants = Merchant.objects.all() if merchant is None else Merchant.objects.filter(pk=merchant)
        for m in merchants.order_by("pk"):
            days = rebuild_merchant(m.pk)
            self.stdout.write(f"merchant {m.pk}: {days} day(s) rebuilt")
        if merchant is None:  # everything is current up to `tops`: the refresh passes go on from there
            record_rebuild(tops, started_at)
