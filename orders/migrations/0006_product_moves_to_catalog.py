"""Product moves to `catalog`: state only (the table and its foreign keys stay), and its content type with it
so that permissions and admin history follow."""

import django.db.models.deletion
from django.db import migrations, models


def _move_content_type(apps, old_app, new_app):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label=old_app, model="product").update(app_label=new_app)


def content_type_to_catalog(apps, schema_editor):
    _move_content_type(apps, "orders", "catalog")


def content_type_to_orders(apps, schema_editor):
    _move_content_type(apps, "catalog", "orders")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("catalog", "0001_initial"),
        ("distributors", "0008_product_moves_to_catalog"),
        ("orders", "0005_per_depth_rate_modes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="orderitem",
                    name="product",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="catalog.product"
                    ),
                ),
                migrations.DeleteModel(
                    name="Product",
                ),
            ]
        ),
        migrations.RunPython(content_type_to_catalog, content_type_to_orders),
    ]
