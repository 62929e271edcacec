"""Account, LedgerTransaction and Posting move to `ledger`: state only (the tables and their triggers stay),
and their content types with them so that permissions and admin history follow."""

from django.db import migrations


MOVED = ("account", "ledgertransaction", "posting")


def _move_content_types(apps, old_app, new_app):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label=old_app, model__in=MOVED).update(app_label=new_app)


def content_types_to_ledger(apps, schema_editor):
    _move_content_types(apps, "settlements", "ledger")


def content_types_to_settlements(apps, schema_editor):
    _move_content_types(apps, "ledger", "settlements")


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("settlements", "0008_admin_names"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="posting",
                    name="account",
                ),
                migrations.RemoveField(
                    model_name="ledgertransaction",
                    name="merchant",
                ),
                migrations.RemoveField(
                    model_name="posting",
                    name="transaction",
                ),
                migrations.RemoveField(
                    model_name="posting",
                    name="merchant",
                ),
                migrations.DeleteModel(
                    name="Account",
                ),
                migrations.DeleteModel(
                    name="LedgerTransaction",
                ),
                migrations.DeleteModel(
                    name="Posting",
                ),
            ],
        ),
        migrations.RunPython(content_types_to_ledger, content_types_to_settlements),
    ]
