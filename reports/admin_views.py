"""The operators' copies of the notice and the statement, linked from the
admin's payment and disbursement pages (staff, through the admin site's door:
sdp/urls.py routes them with admin.site.admin_view)."""

from __future__ import annotations

import datetime as dt

from django.http import Http404, HttpRequest, HttpResponse

from disbursements.models import Disbursement, Payment
from reports import render, selectors, statements
from reports.api import MAX_DAYS, _pdf, report_locale
from tss.errors import HorizonError


def payment_notice(request: HttpRequest, pk) -> HttpResponse:
    payment = Payment.objects.select_related("organization").filter(pk=pk).first()
    if payment is None:
        raise Http404("payment not found")
    notice = selectors.notice(payment.organization, pk)
    return _pdf(
        render.notice_pdf(
            notice, payment.organization, report_locale(payment.organization)
        ),
        f"payment-{pk}.pdf",
    )


def disbursement_statement(request: HttpRequest, pk) -> HttpResponse:
    """The statement of the disbursement's asset from its creation to today."""
    disbursement = (
        Disbursement.objects.select_related("organization", "asset")
        .filter(pk=pk)
        .first()
    )
    if disbursement is None:
        raise Http404("disbursement not found")
    end = dt.datetime.now(dt.UTC).date()
    start = max(disbursement.created_at.date(), end - dt.timedelta(days=MAX_DAYS - 1))
    try:
        statement = statements.build(
            disbursement.organization, disbursement.asset, start, end
        )
    except HorizonError:
        return HttpResponse(
            "The Stellar network could not be read; try again later.",
            status=503,
            content_type="text/plain",
        )
    return _pdf(
        render.statement_pdf(statement, report_locale(disbursement.organization)),
        f"statement-{disbursement.asset.code}-{start}-{end}.pdf",
    )
