"""Routes at the root, each with and without a trailing slash (core.api.route)."""

from auth_org import api, circle_api, tenants_api
from core.api import route

urlpatterns = [
    route("app-config", api.AppConfigView.as_view(), name="app-config"),
    route("login", api.LoginView.as_view(), name="login"),
    route("mfa", api.MFAView.as_view(), name="mfa"),
    route("refresh-token", api.RefreshTokenView.as_view(), name="refresh-token"),
    route("logout", api.LogoutView.as_view(), name="logout"),
    route("forgot-password", api.ForgotPasswordView.as_view(), name="forgot-password"),
    route("reset-password", api.ResetPasswordView.as_view(), name="reset-password"),
    route("profile", api.ProfileView.as_view(), name="profile"),
    route(
        "profile/reset-password",
        api.ProfilePasswordView.as_view(),
        name="profile-reset-password",
    ),
    route("organization", api.OrganizationView.as_view(), name="organization"),
    route(
        "organization/logo",
        api.OrganizationLogoView.as_view(),
        name="organization-logo",
    ),
    route(
        "bridge-integration",
        api.BridgeIntegrationView.as_view(),
        name="bridge-integration",
    ),
    route(
        "organization/circle-config",
        circle_api.CircleConfigView.as_view(),
        name="circle-config",
    ),
    route("balances", circle_api.BalancesView.as_view(), name="balances"),
    route("users", api.UsersView.as_view(), name="users"),
    route("users/roles", api.UserRolesView.as_view(), name="user-roles"),
    route("users/activation", api.UserActivationView.as_view(), name="user-activation"),
    route("api-keys", api.APIKeysView.as_view(), name="api-keys"),
    route("api-keys/<uuid:pk>", api.APIKeyView.as_view(), name="api-key"),
    # The platform operator's tenant administration (SDP's admin server, §4.4).
    route("admin-api/tenants", tenants_api.TenantsView.as_view(), name="tenants"),
    route(
        "admin-api/tenants/default-tenant",
        tenants_api.DefaultTenantView.as_view(),
        name="default-tenant",
    ),
    route(
        "admin-api/tenants/<str:ref>", tenants_api.TenantView.as_view(), name="tenant"
    ),
]
