"""The ledger's tables move here from `settlements`: state only, the tables (with their triggers) keep
their names."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("settlements", "0008_admin_names"),
        ("merchants", "0008_admin_names"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Account",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "owner_kind",
                            models.CharField(
                                choices=[("distributor", "Distributor"), ("merchant", "Merchant")], max_length=12
                            ),
                        ),
                        ("owner_id", models.BigIntegerField()),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("pending", "Pending (held until the after-sales window ends)"),
                                    ("available", "Available to withdraw"),
                                    ("withdrawing", "Reserved by a withdrawal or a split in progress"),
                                    ("paid_out", "Paid out to the distributor (cumulative)"),
                                    (
                                        "receivable",
                                        "Owed back by the distributor (clawbacks beyond the available balance)",
                                    ),
                                    ("commission_expense", "Commission Expense"),
                                    ("fee_income", "Withdrawal fees"),
                                    ("tax_payable", "Tax withheld at payout"),
                                ],
                                max_length=20,
                            ),
                        ),
                        ("currency", models.CharField(max_length=3)),
                        ("balance", models.BigIntegerField(default=0)),
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
                        "db_table": "settlements_account",
                    },
                ),
                migrations.CreateModel(
                    name="LedgerTransaction",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("reference", models.CharField(max_length=120)),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("accrue", "Accrue"),
                                    ("reverse", "Reverse"),
                                    ("settle", "Settle"),
                                    ("clawback", "Clawback"),
                                    ("withdrawal_reserve", "Withdrawal Reserve"),
                                    ("withdrawal_paid", "Withdrawal Paid"),
                                    ("withdrawal_return", "Withdrawal Return"),
                                    ("split_reserve", "Split Reserve"),
                                    ("split_paid", "Split Paid"),
                                    ("split_return", "Split Return"),
                                    ("forfeit", "Forfeit"),
                                ],
                                max_length=24,
                            ),
                        ),
                        ("memo", models.CharField(blank=True, max_length=200)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
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
                        "db_table": "settlements_ledgertransaction",
                    },
                ),
                migrations.CreateModel(
                    name="Posting",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("amount", models.BigIntegerField(help_text="Signed: debit positive, credit negative.")),
                        ("currency", models.CharField(max_length=3)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "account",
                            models.ForeignKey(
                                db_index=False,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="postings",
                                to="ledger.account",
                            ),
                        ),
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
                        (
                            "transaction",
                            models.ForeignKey(
                                db_index=False,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="postings",
                                to="ledger.ledgertransaction",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "settlements_posting",
                    },
                ),
                migrations.AddConstraint(
                    model_name="account",
                    constraint=models.UniqueConstraint(
                        fields=("merchant", "owner_kind", "owner_id", "kind", "currency"), name="account_unique"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="account",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("kind__in", ["pending", "available", "withdrawing"]), _negated=True),
                            ("balance__gte", 0),
                            _connector="OR",
                        ),
                        name="account_spendable_never_negative",
                    ),
                ),
                migrations.AddIndex(
                    model_name="ledgertransaction",
                    index=models.Index(fields=["merchant", "created_at"], name="ledgertxn_created"),
                ),
                migrations.AddConstraint(
                    model_name="ledgertransaction",
                    constraint=models.UniqueConstraint(
                        fields=("merchant", "reference"), name="ledgertxn_unique_reference"
                    ),
                ),
                migrations.AddIndex(
                    model_name="posting",
                    index=models.Index(fields=["merchant", "transaction"], name="posting_transaction"),
                ),
                migrations.AddIndex(
                    model_name="posting",
                    index=models.Index(fields=["account", "id"], name="posting_account"),
                ),
            ],
        ),
    ]
