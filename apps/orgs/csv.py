"""CSV downloads: one helper for every export, so no cell can run as a spreadsheet formula.

UTM values, names and notes come from anyone who fills a form or opens a booking link. A cell
such as ``=HYPERLINK(...)`` would run when a manager opens the export in Excel or Sheets, so
text cells starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return are prefixed with
a single quote (OWASP's rule for CSV injection). Numbers are written as they are: a negative
amount is data, not a formula.
"""

import csv
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.http import HttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


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


def csv_response(filename: str, header: Sequence, rows: Iterable[Sequence]) -> HttpResponse:
    """An attachment named ``filename`` with ``header`` and ``rows``, every cell neutralised."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    safe_name = "".join(c for c in filename if c.isalnum() or c in "-_.") or "export.csv"
    response["Content-Disposition"] = f'attachment; filename="{safe_name}"'
    # Read by AuditMiddleware, which audits every CSV download with the member who made it.
    response.export_filename = safe_name
    writer = csv.writer(response)
    writer.writerow([csv_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([csv_cell(cell) for cell in row])
    return response
