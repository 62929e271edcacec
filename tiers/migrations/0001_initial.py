"""TierRun moves here from `distributors`: state only, the table keeps its name."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("distributors", "0008_product_moves_to_catalog"),
        ("merchants", "0008_admin_names"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="TierRun",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("as_of", models.DateTimeField()),
                        ("cursor", models.BigIntegerField(default=0)),
                        ("lease_owner", models.CharField(blank=True, max_length=100)),
                        ("heartbeat_at", models.DateTimeField(blank=True, null=True)),
                        ("attempts", models.IntegerField(default=0)),
                        ("started_at", models.DateTimeField(blank=True, null=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("trigger", models.CharField(default="schedule", max_length=16)),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("pending", "Pending"),
                                    ("running", "Running"),
                                    ("completed", "Completed"),
                                    ("failed", "Failed"),
                                ],
                                default="pending",
                                max_length=12,
                            ),
                        ),
                        (
                            "downgrades",
                            models.BooleanField(default=False, help_text="This run closes an evaluation period."),
                        ),
                        (
                            "period",
                            models.CharField(blank=True, help_text="The evaluation period it closes.", max_length=16),
                        ),
                        ("evaluated", models.IntegerField(default=0)),
                        ("upgraded", models.IntegerField(default=0)),
                        ("downgraded", models.IntegerField(default=0)),
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
                        "db_table": "distributors_tierrun",
                        "indexes": [models.Index(fields=["merchant", "-id"], name="tierrun_recent")],
                        "constraints": [
                            models.UniqueConstraint(
                                condition=models.Q(("status__in", ["pending", "running"])),
                                fields=("merchant",),
                                name="tierrun_one_active",
                            )
                        ],
                    },
                ),
            ],
        ),
    ]
