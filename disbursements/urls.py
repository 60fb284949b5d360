from core.api import route
from disbursements import api, export_api, receivers_api

urlpatterns = [
    # receivers' routes that answer with a receiver and its payment figures
    route("receivers", receivers_api.ReceiversView.as_view(), name="receivers"),
    route("receivers/<uuid:pk>", receivers_api.ReceiverView.as_view(), name="receiver"),
    route(
        "receivers/<uuid:receiver_id>/wallets/<uuid:pk>",
        receivers_api.ReceiverWalletAddressView.as_view(),
        name="receiver-wallet-address",
    ),
    route("disbursements", api.DisbursementsView.as_view(), name="disbursements"),
    route(
        "disbursements/<uuid:pk>", api.DisbursementView.as_view(), name="disbursement"
    ),
    route(
        "disbursements/<uuid:pk>/instructions",
        api.InstructionsView.as_view(),
        name="disbursement-instructions",
    ),
    route(
        "disbursements/<uuid:pk>/preflight",
        api.DisbursementPreflightView.as_view(),
        name="disbursement-preflight",
    ),
    route(
        "disbursements/<uuid:pk>/retry",
        api.DisbursementRetryView.as_view(),
        name="disbursement-retry",
    ),
    route(
        "disbursements/<uuid:pk>/receivers",
        api.DisbursementReceiversView.as_view(),
        name="disbursement-receivers",
    ),
    route(
        "disbursements/<uuid:pk>/status",
        api.DisbursementStatusView.as_view(),
        name="disbursement-status",
    ),
    route("payments", api.PaymentsView.as_view(), name="payments"),
    route("payments/retry", api.PaymentsRetryView.as_view(), name="payments-retry"),
    route("payments/<uuid:pk>", api.PaymentView.as_view(), name="payment"),
    route(
        "payments/<uuid:pk>/release",
        api.PaymentReleaseView.as_view(),
        name="payment-release",
    ),
    route(
        "payments/<uuid:pk>/approve",
        api.PaymentApproveView.as_view(),
        name="payment-approve",
    ),
    route(
        "payments/<uuid:pk>/status",
        api.PaymentStatusView.as_view(),
        name="payment-status",
    ),
    route("statistics", api.StatisticsView.as_view(), name="statistics"),
    route(
        "statistics/<uuid:pk>",
        api.StatisticsView.as_view(),
        name="statistics-disbursement",
    ),
    route(
        "exports/disbursements",
        export_api.ExportDisbursementsView.as_view(),
        name="export-disbursements",
    ),
    route(
        "exports/payments",
        export_api.ExportPaymentsView.as_view(),
        name="export-payments",
    ),
    route(
        "exports/receivers",
        export_api.ExportReceiversView.as_view(),
        name="export-receivers",
    ),
]
