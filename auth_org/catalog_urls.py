from auth_org import catalog_api
from core.api import route

urlpatterns = [
    route("assets", catalog_api.AssetsView.as_view(), name="assets"),
    route("assets/<uuid:pk>", catalog_api.AssetView.as_view(), name="asset"),
    route(
        "assets/<uuid:pk>/controls",
        catalog_api.AssetControlsView.as_view(),
        name="asset-controls",
    ),
    route(
        "organization/controls",
        catalog_api.TenantControlsView.as_view(),
        name="tenant-controls",
    ),
    route("wallets", catalog_api.WalletsView.as_view(), name="wallets"),
    route("wallets/<uuid:pk>", catalog_api.WalletView.as_view(), name="wallet"),
]
