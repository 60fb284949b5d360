"""CSV exports of disbursements, payments and receivers (dashboard §2.4 Export):
streamed, with the list filters, safe against formula injection, audited."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse
from django.utils import timezone

from auth_org.models import AuditEntry, Organization, User

# A spreadsheet runs a cell starting with one of these as a formula (OWASP CSV
# injection). Prefixing a quote makes it text; SDP 6.5 does not do this.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\x00")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_rows(header: list[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([safe_cell(cell) for cell in row])


def record_export(
    organization: Organization, actor: User | None, kind: str, params: dict, ip: str
) -> None:
    """The audit row of an export (personal data leaves the platform)."""
    AuditEntry.objects.create(
        organization=organization,
        actor=actor if isinstance(actor, User) else None,
        action=f"export.{kind}",
        ip_address=ip or None,
        object_type=kind,
        changes={"filters": {k: str(v)[:100] for k, v in params.items()}},
    )


def csv_response(kind: str, header: list[str], rows: Iterable) -> StreamingHttpResponse:
    stamp = timezone.now().strftime("%Y-%m-%d_%H-%M-%S")
    response = StreamingHttpResponse(csv_rows(header, rows), content_type="text/csv")
    # The dashboard takes the text after "filename=" literally: no quotes.
    response["Content-Disposition"] = f"attachment; filename={kind}_{stamp}.csv"
    return response
