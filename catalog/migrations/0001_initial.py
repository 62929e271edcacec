"""Product moves here from `orders`: state only, the table keeps its name."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("merchants", "0008_admin_names"),
        ("orders", "0005_per_depth_rate_modes"),
    ]

    # The table exists (it was created as orders_product); only Django's idea of its owner changes.
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Product",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("external_id", models.CharField(max_length=64)),
                        ("title", models.CharField(max_length=200)),
                        ("price", models.BigIntegerField(help_text="Minor units.")),
                        (
                            "kind",
                            models.CharField(
                                choices=[("physical", "Physical"), ("virtual", "Virtual"), ("service", "Service")],
                                default="physical",
                                max_length=16,
                            ),
                        ),
                        ("distribution_enabled", models.BooleanField(default=True)),
                        (
                            "commission_depth1_mode",
                            models.CharField(
                                blank=True,
                                choices=[
                                    ("percent", "Percent of the paid amount (basis points)"),
                                    ("fixed", "Fixed amount per unit"),
                                ],
                                max_length=8,
                                null=True,
                            ),
                        ),
                        ("commission_depth1", models.BigIntegerField(blank=True, null=True)),
                        (
                            "commission_depth2_mode",
                            models.CharField(
                                blank=True,
                                choices=[
                                    ("percent", "Percent of the paid amount (basis points)"),
                                    ("fixed", "Fixed amount per unit"),
                                ],
                                max_length=8,
                                null=True,
                            ),
                        ),
                        ("commission_depth2", models.BigIntegerField(blank=True, null=True)),
                        (
                            "commission_depth3_mode",
                            models.CharField(
                                blank=True,
                                choices=[
                                    ("percent", "Percent of the paid amount (basis points)"),
                                    ("fixed", "Fixed amount per unit"),
                                ],
                                max_length=8,
                                null=True,
                            ),
                        ),
                        ("commission_depth3", models.BigIntegerField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "merchant",
                            models.ForeignKey(
                                db_index=False,
                                editable=False,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="merchants.merchant",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "orders_product",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("merchant", "external_id"), name="product_unique_external_id"
                            ),
                            models.CheckConstraint(
                                condition=models.Q(("price__gte", 0)), name="product_price_non_negative"
                            ),
                        ],
                    },
                ),
            ],
        ),
    ]
