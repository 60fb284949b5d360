"""The OpenAPI schema of the whole API (drf-spectacular) and a page to browse it."""

from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView
from rest_framework.renderers import TemplateHTMLRenderer

from sdp.api import route


class SchemaView(SpectacularJSONAPIView):
    authentication_classes: list = []
    permission_classes: list = []


class SchemaPageView(SpectacularSwaggerView):
    authentication_classes: list = []
    permission_classes: list = []
    renderer_classes = [TemplateHTMLRenderer]


urlpatterns = [
    route("openapi.json", SchemaView.as_view(), name="openapi-schema"),
    route("openapi", SchemaPageView.as_view(url_name="openapi-schema"), name="openapi"),
]
