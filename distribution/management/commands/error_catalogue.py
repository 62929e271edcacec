"""Print the error catalogue as Markdown (docs/errors.md is this output)."""

from typing import Any

from django.core.management.base import BaseCommand

from distribution.catalogue import markdown


class Command(BaseCommand):
    help = "Print every error code the API answers with, as Markdown (docs/errors.md)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(markdown(), ending="")
