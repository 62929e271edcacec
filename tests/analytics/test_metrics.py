"""Every metric has one definition: the table in analytics/metrics.py, repeated word for word in
docs/analytics.md and shown on the summary's fields in the OpenAPI schema; and the ratio and 环比 rules."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from drf_spectacular.generators import SchemaGenerator

from analytics.metrics import METRICS, change, markdown_table, per, ratio

ROOT = Path(__file__).resolve().parent.parent.parent


def test_docs_list_every_metric_with_its_definition():
    assert markdown_table() in (ROOT / "docs" / "analytics.md").read_text(), "copy markdown_table() into the page"


def test_the_schema_describes_each_summary_metric_with_its_formula():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    fields = schema["components"]["schemas"]["SummaryMetrics"]["properties"]
    assert set(fields) == set(METRICS)
    for name, metric in METRICS.items():
        assert metric.definition in fields[name]["description"], name


def test_ratios_have_four_places_half_up_and_no_denominator_is_null():
    assert ratio(1, 3) == Decimal("0.3333")
    assert ratio(2, 3) == Decimal("0.6667")
    assert ratio(1, 8) == Decimal("0.1250")
    assert ratio(1, 20000) == Decimal("0.0001")  # 0.00005 rounds half up
    assert ratio(5, 0) is None


def test_averages_round_half_up_to_the_minor_unit():
    assert per(35000, 3) == 11667
    assert per(4350, 4) == 1088  # 1087.5
    assert per(1, 0) is None


def test_change_is_relative_to_the_previous_size_and_null_without_a_previous():
    assert change(150, 100) == Decimal("0.5000")
    assert change(50, 100) == Decimal("-0.5000")
    assert change(-50, -100) == Decimal("0.5000")  # a loss halved is an improvement
    assert change(Decimal("0.1200"), Decimal("0.1000")) == Decimal("0.2000")
    assert change(100, 0) is None
    assert change(100, Decimal("0.0000")) is None
    assert change(None, 100) is None
    assert change(100, None) is None
