"""The OpenAPI schema of the whole API (drf-spectacular) and a page to browse it."""

import re

from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView
from rest_framework.renderers import TemplateHTMLRenderer

import auth_org.schema  # noqa: F401 - registers the authentication schemes
from core.api import route


class SchemaView(SpectacularJSONAPIView):
    authentication_classes: list = []
    permission_classes: list = []


class SchemaPageView(SpectacularSwaggerView):
    authentication_classes: list = []
    permission_classes: list = []
    renderer_classes = [TemplateHTMLRenderer]


def normalize_route_paths(endpoints, **kwargs):
    """Paths from ``core.api.route`` are regexes that allow a trailing slash; show
    them as the dashboard writes them (``/api-keys/{id}``), once each."""
    seen = set()
    normalized = []
    for path, path_regex, method, callback in endpoints:
        path = re.sub(r"\\(.)", r"\1", path).rstrip("/") or "/"
        if (path, method) in seen or path == "/openapi.json":
            continue
        seen.add((path, method))
        normalized.append((path, path_regex, method, callback))
    return normalized


urlpatterns = [
    route("openapi.json", SchemaView.as_view(), name="openapi-schema"),
    route("openapi", SchemaPageView.as_view(url_name="openapi-schema"), name="openapi"),
]
