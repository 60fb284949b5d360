"""GET /reports/statement, /reports/payment/{id}, /reports/reconciliation."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from auth_org.models import Asset, Organization
from auth_org.permissions import OWNER_FC
from core.api import APIError
from core.apidoc import answers, csv_file
from core.params import Param, QueryParams, accepts
from reports import render, schemas, selectors, statements
from tss.errors import HorizonError

# A statement reads the whole period from the network: a year at most.
MAX_DAYS = 366

STATEMENT_PARAMS = QueryParams(
    Param("asset_code", description="The asset of the statement (e.g. USDC)."),
    Param("from", "date", "First day of the period (YYYY-MM-DD), included."),
    Param("to", "date", "Last day of the period (YYYY-MM-DD), included."),
    Param("format", description="pdf (default) or csv.", enum=("pdf", "csv")),
)
DAY_PARAMS = QueryParams(
    Param("date", "date", "The day reconciled (YYYY-MM-DD); yesterday by default.")
)


def report_locale(organization: Organization) -> str:
    """The organization's locale (auth_org.locales), else the deployment's."""
    return organization.locale or settings.REPORTS_LOCALE


def _pdf(data: bytes, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class StatementView(APIView):
    roles = {"GET": OWNER_FC}
    api_key_permissions = {"GET": "read:exports"}

    @accepts(STATEMENT_PARAMS)
    @extend_schema(
        responses=answers(OpenApiTypes.BINARY, media="application/pdf") | csv_file()
    )
    def get(self, request: Request):
        query = request.query_params
        missing = {
            name: f"{name} is required"
            for name in ("asset_code", "from", "to")
            if not query.get(name)
        }
        if missing:
            raise APIError(extras=missing)
        start = dt.date.fromisoformat(query["from"])
        end = dt.date.fromisoformat(query["to"])
        if end < start:
            raise APIError(extras={"to": "to must not be before from"})
        if (end - start).days >= MAX_DAYS:
            raise APIError(extras={"to": f"a statement covers at most {MAX_DAYS} days"})
        asset = (
            Asset.objects.filter(
                organization=request.tenant,
                code=query["asset_code"],
                deleted_at__isnull=True,
            )
            .order_by("created_at")
            .first()
        )
        if asset is None:
            raise APIError(extras={"asset_code": "no such asset in this organization"})
        try:
            statement = statements.build(request.tenant, asset, start, end)
        except HorizonError as exc:
            raise APIError(
                "The Stellar network could not be read; try again later.",
                status_code=503,
            ) from exc
        name = f"statement-{asset.code}-{start}-{end}"
        if query.get("format") == "csv":
            response = HttpResponse(
                render.statement_csv(statement), content_type="text/csv"
            )
            response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
            return response
        return _pdf(
            render.statement_pdf(statement, report_locale(request.tenant)),
            f"{name}.pdf",
        )


class PaymentNoticeView(APIView):
    roles = {"GET": OWNER_FC}
    api_key_permissions = {"GET": "read:payments"}

    @extend_schema(responses=answers(OpenApiTypes.BINARY, media="application/pdf"))
    def get(self, request: Request, pk):
        notice = selectors.notice(request.tenant, pk)
        data = render.notice_pdf(notice, request.tenant, report_locale(request.tenant))
        return _pdf(data, f"payment-{pk}.pdf")


class ReconciliationView(APIView):
    roles = {"GET": OWNER_FC}
    api_key_permissions = {"GET": "read:payments"}

    @accepts(DAY_PARAMS)
    @extend_schema(responses=answers(schemas.ReconciliationReport))
    def get(self, request: Request) -> Response:
        raw = request.query_params.get("date")
        day = (
            dt.date.fromisoformat(raw)
            if raw
            else dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
        )
        return Response(selectors.reconciliation(request.tenant, day))
