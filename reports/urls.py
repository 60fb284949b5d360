from core.api import route
from reports import api

urlpatterns = [
    route("reports/statement", api.StatementView.as_view(), name="reports-statement"),
    route(
        "reports/payment/<uuid:pk>",
        api.PaymentNoticeView.as_view(),
        name="reports-payment-notice",
    ),
    route(
        "reports/reconciliation",
        api.ReconciliationView.as_view(),
        name="reports-reconciliation",
    ),
]
