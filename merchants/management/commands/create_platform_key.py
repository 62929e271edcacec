"""Make a platform operator's key for the platform API (`/api/platform/v1/`); it is printed once."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from merchants.models import PlatformAPIKey


class Command(BaseCommand):
    help = "Create a platform API key (X-Platform-Key) and print it once."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="Who or what uses it, e.g. 'ops console'.")

    def handle(self, *args, name, **options):
        _, key = PlatformAPIKey.objects.create_key(name=name)
        self.stdout.write(key)
