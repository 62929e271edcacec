"""The deferred balance check must count every posting of the transaction it checks, whatever merchant the
committing session is set to (row-level security, distribution/rls.py): it runs as the function's owner,
which the policies do not restrict, with a fixed search path."""

from django.db import migrations

FORWARD = "ALTER FUNCTION ledger_check_balanced() SECURITY DEFINER SET search_path = pg_catalog, public"
BACKWARD = "ALTER FUNCTION ledger_check_balanced() SECURITY INVOKER RESET search_path"


class Migration(migrations.Migration):
    dependencies = [("settlements", "0004_forfeit_kind")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
