"""Make (or update) the application's database role and its grants; run as the tables' owner.

`manage.py setup_database_roles [--user distribution_app] [--password ...]` creates a login role that is
not a superuser, cannot bypass row-level security and owns nothing, grants it rows and sequences of every
table (and of tables made later by the owner), and (re)makes the tenant policies. make run, make test and
the compose `migrate` service run it after `migrate`; the application then connects as that role.
"""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from distribution import rls


class Command(BaseCommand):
    help = "Create the application's database role (no superuser, no BYPASSRLS) and grant it the tables."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", default=settings.DATABASE_APP_USER, help="default: DATABASE_APP_USER")
        parser.add_argument("--password", default=settings.DATABASE_APP_PASSWORD, help="default: DATABASE_APP_PASSWORD")

    def handle(self, *args: Any, user: str, password: str, **options: Any) -> None:
        if user == connection.settings_dict["USER"]:
            self.stderr.write(f"{user!r} is the role this command connects as (the owner); choose another.")
            raise SystemExit(2)
        with rls.bypass():
            rls.create_app_role(connection, user, password)
            tables = rls.ensure_policies(connection)
        self.stdout.write(f"role {user}: ready; row-level security on {tables} tables")
