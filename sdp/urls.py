from django.contrib import admin
from django.urls import include, path

from sdp.health import health
from sdp.operations import operations_view

handler404 = "sdp.api.handler404"
handler500 = "sdp.api.handler500"

urlpatterns = [
    path("health", health, name="health"),
    # Through the admin site's door: staff, and a TOTP-verified session where
    # the second factor is required.
    path(
        "admin/operations/",
        admin.site.admin_view(operations_view),
        name="operations",
    ),
    path("admin/", admin.site.urls),
    path("", include("disbursements.urls")),
    path("", include("receivers.urls")),
    path("", include("auth_org.catalog_urls")),
    path("", include("receivers.shortlink_urls")),
    path("", include("django_prometheus.urls")),
    path("", include("receivers.registration_urls")),
    path("", include("sdp.openapi")),
    path("", include("auth_org.urls")),
]
