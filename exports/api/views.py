"""Exports: `GET /exports/<kind>` answers the file at once when few rows match, else 202 with an export job;
the jobs, their status and their files.

Why a GET creates the job: one URL serves every size, so a client asks for "the orders of last month as
XLSX" without knowing how many rows that is, and follows the 202's `Location` when it is large. The GET
changes no business data (a job is a cache of a file, like the file itself), and while the same export
is queued or running the same job is answered, so a repeated GET does not pile up jobs.
"""

from __future__ import annotations

from typing import Any, ClassVar, cast

from django.conf import settings
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from distribution import exports as files
from distribution import rls
from distribution.api.schema import ErrorResponse
from distribution.api.views import ListMixin, MerchantApi, RetrieveMixin
from distribution.errors import PermissionDenied
from exports import services
from exports.api.serializers import ExportJobOutput
from exports.kinds import COMMISSION_LINES, DAILY_FIGURES, DISTRIBUTORS, ORDERS, WITHDRAWALS, Kind, kind_of, kinds_for
from exports.models import ExportJob
from merchants.models import Merchant
from settlements.api.views import FILE_RESPONSE, file_format

FORMAT_PARAM = OpenApiParameter("format", str, enum=list(files.FORMATS), description="csv (default) or xlsx.")
FILE_RESPONSES = {
    (200, "text/csv"): FILE_RESPONSE,
    (200, files.CONTENT_TYPES["xlsx"]): FILE_RESPONSE,
}


def _refuse_kind(principal: Any, kind: Kind) -> None:
    if not principal.has_permission(kind.permission):
        raise PermissionDenied(
            f"Exports of {kind.title} need the permission '{kind.permission}', which your role "
            f"'{principal.role}' does not have.",
            extra={"required_permission": kind.permission, "role": principal.role},
        )


class _ExportApi(MerchantApi):
    """One kind's export: the list's filters, the file at once or a job."""

    abstract = True
    kind: ClassVar[Kind]

    def get(self, request: Any) -> Any:
        kind, merchant = self.kind, cast(Merchant, self.merchant)
        output = file_format(self, default="csv", allowed=files.FORMATS)
        filters = kind.normalize(merchant, request.query_params)
        rows = kind.queryset(merchant, filters).count()
        if rows > settings.EXPORT_STREAM_MAX_ROWS:
            job = services.export_request(
                merchant=merchant, actor=self.actor, kind=kind, file_format=output, filters=filters, rows=rows
            )
            return Response(
                ExportJobOutput(job, context=self.get_serializer_context()).data,
                status=202,
                headers={"Location": reverse("export-job-detail", kwargs={"pk": job.pk})},
            )
        services.export_record_streamed(
            merchant=merchant, actor=self.actor, kind=kind, file_format=output, filters=filters, rows=rows
        )
        return _file_now(merchant, kind, filters, output)


def _file_now(merchant: Any, kind: Kind, filters: dict, output: str) -> Any:
    chunk = settings.EXPORT_CHUNK_SIZE
    filename = f"{services.file_stem(kind)}.{output}"
    if output == "xlsx":  # a workbook is a zip: built whole, in memory (at most EXPORT_STREAM_MAX_ROWS rows)
        content = files.to_xlsx(kind.header, services.export_rows(merchant, kind, filters, chunk_size=chunk))
        response: Any = HttpResponse(content, content_type=files.CONTENT_TYPES["xlsx"])
    else:

        def lines() -> Any:
            # sent after the view returned, outside the request's tenancy scope: the merchant's again
            with rls.merchant(merchant.pk):
                yield from files.iter_csv(kind.header, services.export_rows(merchant, kind, filters, chunk_size=chunk))

        response = StreamingHttpResponse(lines(), content_type=files.CONTENT_TYPES["csv"])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _export_view(kind: Kind, summary: str, description: str) -> type[_ExportApi]:
    extra = (
        [
            OpenApiParameter("date_from", OpenApiTypes.DATE, description="The first day (default: 29 days before)."),
            OpenApiParameter("date_to", OpenApiTypes.DATE, description="The last day (default: today)."),
        ]
        if kind.filterset is None
        else []
    )
    schema = extend_schema(
        tags=["exports"],
        summary=summary,
        description=description
        + f" At most EXPORT_STREAM_MAX_ROWS ({settings.EXPORT_STREAM_MAX_ROWS}) rows come back at once (CSV streamed);"
        " more answer 202 with an export job (its `Location`), whose file is downloaded when it is done.",
        parameters=[FORMAT_PARAM, *extra],
        filters=kind.filterset is not None,
        responses={**FILE_RESPONSES, 202: ExportJobOutput},
    )

    def get(self: _ExportApi, request: Any) -> Any:  # a function of its own, for this kind's schema
        return _ExportApi.get(self, request)

    attributes = {
        "kind": kind,
        "model": kind.model,
        "filterset_class": kind.filterset,
        "required_permissions": {"GET": kind.permission},
        "__doc__": description,
        "__module__": __name__,
        "get": schema(get),
    }
    name = "".join(part.title() for part in kind.name.split("-")) + "ExportApi"

    return type(name, (_ExportApi,), attributes)


DistributorsExportApi = _export_view(
    DISTRIBUTORS,
    "Export distributors",
    "The distributors (the list's filters), phone, real name and ID number masked as the list shows them.",
)
CommissionLinesExportApi = _export_view(
    COMMISSION_LINES,
    "Export commission lines",
    "Commission lines (the list's filters) with their amounts and explanation; owner, admin and finance.",
)
OrdersExportApi = _export_view(ORDERS, "Export orders", "Orders (the list's filters) with their amounts.")
WithdrawalsExportApi = _export_view(
    WITHDRAWALS,
    "Export withdrawals",
    "Withdrawals (the list's filters), the payee's account masked as the list shows it; owner, admin and finance.",
)
DailyFiguresExportApi = _export_view(
    DAILY_FIGURES,
    "Export daily figures",
    "The merchant's figures per day (days in the merchant's time zone) from `date_from` to `date_to`: at most "
    "two years, not after today. Orders, GMV, refunded, net GMV, the distributed part, buyers, commission by "
    "state and visits; days without any activity have no row.",
)


# --- jobs ---------------------------------------------------------------------------------------------------
class _ExportJobApi(MerchantApi):
    abstract = True
    model = ExportJob
    serializer_class = ExportJobOutput

    def scope_queryset(self, queryset: Any) -> Any:
        return queryset.order_by("-id")

    def get_object(self) -> Any:
        job = super().get_object()
        _refuse_kind(self.principal, kind_of(job.kind))
        return job


@extend_schema(tags=["exports"], summary="List export jobs")
class ExportJobListApi(ListMixin, _ExportJobApi):
    """Export jobs, newest first: those of the kinds the caller's role may export."""

    filterset_fields = ["kind"]

    def scope_queryset(self, queryset: Any) -> Any:
        return queryset.filter(kind__in=kinds_for(self.principal.permissions)).order_by("-id")


@extend_schema(tags=["exports"], summary="Show an export job")
class ExportJobDetailApi(RetrieveMixin, _ExportJobApi):
    """An export job: queued, running (rows_done of rows_total), done (the file's name, size and when it
    expires) or failed. A kind the caller's role may not export is refused (403)."""


@extend_schema(tags=["exports"])
class ExportJobDownloadApi(_ExportJobApi):
    """A done job's file, while it has not expired. Only to a role that may export its kind; audited."""

    @extend_schema(
        summary="Download an export job's file",
        responses={**FILE_RESPONSES, 409: ErrorResponse, 410: ErrorResponse},
    )
    def get(self, request: Any, pk: int) -> Any:
        job = self.get_object()
        handle, name = services.export_download(merchant=cast(Merchant, self.merchant), actor=self.actor, job=job)
        return FileResponse(
            handle, as_attachment=True, filename=name, content_type=files.CONTENT_TYPES[job.file_format]
        )
