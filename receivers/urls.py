from core.api import route
from receivers import api

# The fixed paths come before receivers/<uuid:pk> for readability; the uuid
# converter would not match them anyway.
urlpatterns = [
    route(
        "receivers/verification-types",
        api.VerificationTypesView.as_view(),
        name="verification-types",
    ),
    route(
        "registration-contact-types",
        api.RegistrationContactTypesView.as_view(),
        name="registration-contact-types",
    ),
    route(
        "receivers/wallets/<uuid:pk>/status",
        api.ReceiverWalletStatusView.as_view(),
        name="receiver-wallet-status",
    ),
    route(
        "receivers/wallets/<uuid:pk>",
        api.RetryInvitationView.as_view(),
        name="receiver-wallet-invitation",
    ),
    # receivers, receivers/<uuid:pk> and receivers/<uuid:receiver_id>/wallets/
    # <uuid:pk> answer with payment figures: routed in disbursements.urls.
]
