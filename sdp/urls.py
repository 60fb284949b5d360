"""The routes, and which listener serves which (docs/ports.md, "Ports").

- public (PORT): the dashboard API, SEP, registration pages, /health; the
  Django admin only with ADMIN_UI_ENABLED.
- metrics (METRICS_PORT): /metrics, /health, /health/ready.
- admin (ADMIN_PORT): the tenant admin API (/admin-api/...), the Django admin
  and its operations page, /health.

``urlpatterns`` (ROOT_URLCONF) is every route: the single-port mode (SINGLE_PORT,
runserver) and ``reverse()``. sdp.ports.PortRoutingMiddleware picks one of the
classes below per request by the port of the socket that accepted it.
"""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

import auth_org.urls
from reports import admin_views as report_views
from sdp.health import health, ready
from sdp.operations import operations_view

handler404 = "core.api.handler404"
handler500 = "core.api.handler500"


def _is_admin_api(pattern: URLPattern | URLResolver) -> bool:
    # route() writes a regex: "^admin\\-api/..."
    return str(pattern.pattern).replace("\\", "").lstrip("^").startswith("admin-api")


_auth_org = auth_org.urls.urlpatterns
admin_api = [p for p in _auth_org if _is_admin_api(p)]
_auth_org_public = [p for p in _auth_org if not _is_admin_api(p)]

health_urls = [
    path("health", health, name="health"),
    path("health/ready", ready, name="health-ready"),
]
metrics = [path("", include("django_prometheus.urls"))]
django_admin = [
    # Through the admin site's door: staff, and a TOTP-verified session where
    # the second factor is required.
    path(
        "admin/operations/",
        admin.site.admin_view(operations_view),
        name="operations",
    ),
    path(
        "admin/reports/payment/<uuid:pk>/notice/",
        admin.site.admin_view(report_views.payment_notice),
        name="reports-admin-notice",
    ),
    path(
        "admin/reports/disbursement/<uuid:pk>/statement/",
        admin.site.admin_view(report_views.disbursement_statement),
        name="reports-admin-statement",
    ),
    path("admin/", admin.site.urls),
]
public = [
    path("", include("disbursements.urls")),
    path("", include("reports.urls")),
    path("", include("receivers.urls")),
    path("", include("auth_org.catalog_urls")),
    path("", include("receivers.shortlink_urls")),
    path("", include("receivers.registration_urls")),
    path("", include("sdp.openapi")),
    path("", include(_auth_org_public)),
]

urlpatterns = [*health_urls, *django_admin, *admin_api, *metrics, *public]


class _URLConf:
    handler404 = handler404
    handler500 = handler500


class PublicURLs(_URLConf):
    urlpatterns = [health_urls[0], *public]


class PublicWithAdminURLs(_URLConf):
    urlpatterns = [health_urls[0], *django_admin, *public]


class MetricsURLs(_URLConf):
    urlpatterns = [*health_urls, *metrics]


class AdminURLs(_URLConf):
    urlpatterns = [health_urls[0], *django_admin, *admin_api]


class AllWithoutAdminURLs(_URLConf):
    urlpatterns = [*health_urls, *admin_api, *metrics, *public]
