from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.db.models import Avg, Count, Max, OuterRef, Q, Subquery
from django.utils import timezone

from distribution import outbox, rates
from distribution.models import AuditEvent, IdempotencyRecord, JobRun, OutboxMessage
from distribution.money import format_amount

if TYPE_CHECKING:
    from django.db.models import Model, QuerySet
    from django.http import HttpRequest, HttpResponse


def money(minor: int | None, currency: str) -> str:
    """An amount as operators read it: `336.00 CNY` (never bare minor units)."""
    return "—" if minor is None else f"{format_amount(minor, currency)} {currency}"


def describe_rates(commission_rates: list[dict[str, Any]], currency: str) -> str:
    """`depth 1: 10.00 CNY/unit · depth 2: 4.00%`, or `—` when there are none."""
    parts = [
        f"depth {r['depth']}: "
        + (f"{r['rate_bps'] / 100:.2f}%" if r["mode"] == rates.PERCENT else f"{money(r['amount'], currency)}/unit")
        for r in commission_rates
    ]
    return " · ".join(parts) or "—"


if TYPE_CHECKING:  # what the mixin's super() calls reach: the ModelAdmin it is mixed into
    _ModelAdmin = admin.ModelAdmin[Any]
else:
    _ModelAdmin = object


class MoneyColumns(_ModelAdmin):
    """Admin columns and read-only fields for amounts, shown as `336.00 CNY` instead of minor units: list
    them in `money_fields` (the currency is the row's `currency`, else its merchant's)."""

    money_fields: tuple[str, ...] = ()

    @classmethod
    def _money_column(cls, name: str) -> Callable[[Any], str]:
        @admin.display(description=name.replace("_", " "), ordering=name)
        def column(obj: Any) -> str:
            currency = getattr(obj, "currency", None) or obj.merchant.currency
            return money(getattr(obj, name), currency)

        column.__name__ = name
        return column

    def _with_money(self, names: Iterable[Any]) -> list[Any]:
        """The names, with each of `money_fields` replaced by its column (the admin takes both)."""
        return [self._money_column(n) if isinstance(n, str) and n in self.money_fields else n for n in names]

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        return self._with_money(super().get_list_display(request))

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[Any]:
        return self._with_money(super().get_readonly_fields(request, obj))

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> list[Any]:
        return self._with_money(super().get_fields(request, obj))


class ReadOnlyAdmin(MoneyColumns, admin.ModelAdmin):
    """Operators read these rows; nobody edits them by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "merchant", "action", "object_type", "object_id", "actor_kind", "actor_label"]
    list_filter = ["actor_kind", "action", "object_type"]
    search_fields = ["object_id", "actor_label", "action", "request_id"]
    list_select_related = ["merchant"]
    date_hierarchy = "created_at"


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "merchant", "scope", "key", "method", "path", "response_status"]
    list_filter = ["method", "response_status"]
    search_fields = ["key", "scope", "path"]
    list_select_related = ["merchant"]


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
    """The job status view: above the list of runs, one row per job and merchant with the last run,
    the last day's counts and durations, and the last error."""

    change_list_template = "admin/distribution/jobrun/change_list.html"
    list_display = ["started_at", "job", "merchant", "status", "duration_ms", "result", "short_error"]
    list_filter = ["status", "job"]
    search_fields = ["job", "merchant__slug", "task_id", "error"]
    list_select_related = ["merchant"]
    date_hierarchy = "started_at"

    @admin.display(description="error")
    def short_error(self, obj: JobRun) -> str:
        return obj.error[:120]

    def summary(self) -> list[Mapping[str, Any]]:
        since = timezone.now() - timedelta(days=1)
        last = JobRun.objects.filter(job=OuterRef("job"), merchant=OuterRef("merchant")).order_by("-started_at")
        last_error = last.filter(status=JobRun.Status.FAILED)
        return list(
            JobRun.objects.values("job", "merchant__slug", "merchant")
            .annotate(
                last_started=Max("started_at"),
                last_status=Subquery(last.values("status")[:1]),
                runs_24h=Count("pk", filter=Q(started_at__gte=since)),
                failed_24h=Count("pk", filter=Q(started_at__gte=since, status=JobRun.Status.FAILED)),
                avg_ms=Avg("duration_ms", filter=Q(started_at__gte=since)),
                max_ms=Max("duration_ms", filter=Q(started_at__gte=since)),
                last_error=Subquery(last_error.values("error")[:1]),
                last_error_at=Subquery(last_error.values("started_at")[:1]),
            )
            .order_by("job", "merchant__slug")
        )

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "summary": self.summary()}
        return super().changelist_view(request, extra_context=extra_context)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = ["id", "task", "args", "kwargs", "created_at", "published_at", "attempts"]
    list_filter = [("published_at", admin.EmptyFieldListFilter), "task"]
    search_fields = ["task"]
    actions = ["publish_now"]

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return obj is None  # the list's action only

    @admin.action(description="Publish now (unsent messages)")
    def publish_now(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        sent = sum(
            1 for pk in queryset.filter(published_at__isnull=True).values_list("pk", flat=True) if outbox.publish(pk)
        )
        self.message_user(request, f"{sent} message(s) published.", messages.SUCCESS)


admin.site.site_header = "Distribution backend 在线分销 · platform admin"
admin.site.site_title = "Distribution admin"
admin.site.index_title = "Merchants, their programs, money and jobs"
