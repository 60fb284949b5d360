"""CSV exports of disbursements, payments and receivers (dashboard §2.4 Export):
streamed, with the list filters, safe against formula injection, audited."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse
from django.utils import timezone

from auth_org.models import AuditEntry, Organization, User

# A spreadsheet runs a cell starting with one of these as a formula (OWASP CSV
# injection; ASVS 1.2.10). Prefixing a quote makes it text; SDP 6.5 does not do
# this.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\x00")
# ... except a sign followed only by digits, spaces and dots: a phone number
# (+14155550101, +1 415 555 0101) or a signed amount (-12.5). Without a letter,
# "=", a quote or a parenthesis it names no function, no cell and no other
# sheet, so a spreadsheet can only read it as the number it is; neutralising it
# changed the data ('+14155550101) and an export could not be uploaded again.
_SIGNED_NUMBER = re.compile(r"[+-][0-9][0-9 .]*")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES) and not _SIGNED_NUMBER.fullmatch(text):
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
