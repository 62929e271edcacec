"""TierRun moves to `tiers`: state only (the table and the level history's foreign key stay), and its
content type with it."""

import django.db.models.deletion
from django.db import migrations, models


def _move_content_type(apps, old_app, new_app):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label=old_app, model="tierrun").update(app_label=new_app)


def content_type_to_tiers(apps, schema_editor):
    _move_content_type(apps, "distributors", "tiers")


def content_type_to_distributors(apps, schema_editor):
    _move_content_type(apps, "tiers", "distributors")


class Migration(migrations.Migration):
    dependencies = [
        ("distributors", "0008_product_moves_to_catalog"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("tiers", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="levelchange",
                    name="run",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="changes",
                        to="tiers.tierrun",
                    ),
                ),
                migrations.DeleteModel(
                    name="TierRun",
                ),
            ],
        ),
        migrations.RunPython(content_type_to_tiers, content_type_to_distributors),
    ]
