"""CSV downloads: one helper for every export, so no cell can run as a spreadsheet formula.

UTM values, names and notes come from anyone who fills a form or opens a booking link. A cell
such as ``=HYPERLINK(...)`` would run when a manager opens the export in Excel or Sheets, so
text cells starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return are prefixed with
a single quote (OWASP's rule for CSV injection). Numbers are written as they are: a negative
amount is data, not a formula.

Every download streams: rows are encoded as they are produced and handed to the server in
batches, so a 500,000-row export holds one batch in memory, not the file. Callers pass an
iterator (a queryset's ``.iterator(chunk_size=...)`` over ``values_list``) to keep it that way.
"""

import csv
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal

from django.http import StreamingHttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Rows encoded per chunk handed to the server: large enough that the per-chunk overhead of
# WSGI does not dominate, small enough that a chunk stays a few hundred kilobytes.
ROWS_PER_CHUNK = 500


def csv_cell(value):
    """``value`` made safe for a spreadsheet: text that would start a formula gets a quote."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float | Decimal):
        return value
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


class _Line:
    """A file-like sink for csv.writer that hands back the line it was given."""

    def write(self, value: str) -> str:
        return value


def csv_chunks(header: Sequence, rows: Iterable[Sequence]) -> Iterator[bytes]:
    """``header`` and ``rows`` as UTF-8 CSV, every cell neutralised, ROWS_PER_CHUNK rows a chunk."""
    writer = csv.writer(_Line())
    yield writer.writerow([csv_cell(cell) for cell in header]).encode()
    batch: list[str] = []
    for row in rows:
        batch.append(writer.writerow([csv_cell(cell) for cell in row]))
        if len(batch) >= ROWS_PER_CHUNK:
            yield "".join(batch).encode()
            batch.clear()
    if batch:
        yield "".join(batch).encode()


def csv_response(
    filename: str, header: Sequence, rows: Iterable[Sequence]
) -> StreamingHttpResponse:
    """An attachment named ``filename`` with ``header`` and ``rows``, streamed, every cell
    neutralised."""
    response = StreamingHttpResponse(
        csv_chunks(header, rows), content_type="text/csv; charset=utf-8"
    )
    safe_name = "".join(c for c in filename if c.isalnum() or c in "-_.") or "export.csv"
    response["Content-Disposition"] = f'attachment; filename="{safe_name}"'
    # Read by AuditMiddleware, which audits every CSV download with the member who made it.
    response.export_filename = safe_name
    return response
