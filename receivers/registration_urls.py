"""Routes of SEP-1, SEP-10, SEP-24 and the registration pages (included from
sdp/urls.py)."""

from django.urls import include, path

from receivers import views
from receivers.sep import views as sep
from sdp.api import route

pages = [
    path("start", views.start, name="start"),
    path("contact", views.contact, name="contact"),
    path("verify", views.verify, name="verify"),
    path("resend", views.resend, name="resend"),
    path("success", views.success, name="success"),
    path("status", views.transaction_status, name="status"),
]

urlpatterns = [
    path(".well-known/stellar.toml", sep.stellar_toml, name="stellar-toml"),
    route("sep10/auth", sep.Sep10AuthView.as_view(), name="sep10-auth"),
    route("sep24/info", sep.Sep24InfoView.as_view(), name="sep24-info"),
    route(
        "sep24/transactions/deposit/interactive",
        sep.Sep24InteractiveDepositView.as_view(),
        name="sep24-deposit-interactive",
    ),
    route(
        "sep24/transaction",
        sep.Sep24TransactionView.as_view(),
        name="sep24-transaction",
    ),
    route(
        "sep24/transactions",
        sep.Sep24TransactionsView.as_view(),
        name="sep24-transactions",
    ),
    route(
        "sep24-interactive-deposit/info",
        sep.InteractiveInfoView.as_view(),
        name="sep24-interactive-info",
    ),
    route(
        "sep24-interactive-deposit/otp",
        sep.InteractiveOTPView.as_view(),
        name="sep24-interactive-otp",
    ),
    route(
        "sep24-interactive-deposit/verification",
        sep.InteractiveVerificationView.as_view(),
        name="sep24-interactive-verification",
    ),
    path(
        "wallet-registration/",
        include((pages, "receivers-registration"), namespace="receivers-registration"),
    ),
]
