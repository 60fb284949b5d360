"""HTTP adapters for SEP-1, SEP-10, SEP-24 and the registration JSON API that
SDP's own SEP-24 web app calls (``/sep24-interactive-deposit/*``)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from auth_org.models import Organization
from receivers import captcha, registration
from receivers.models import Sep24Transaction
from receivers.otp_throttle import OTPThrottled, OTPThrottleUnavailable
from receivers.sep import interactive, more_info, web_auth
from receivers.sep.stellar_toml import render_stellar_toml
from receivers.sep.tokens import (
    InvalidToken,
    WalletIdentity,
    issue_sep24_token,
    read_sep10_token,
    read_sep24_token,
)
from sdp.api import APIError, error_body


def _base_url(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


def stellar_toml(request: HttpRequest) -> HttpResponse:
    """SEP-1. Wallets fetch it cross-origin, so any origin may read it."""
    body = render_stellar_toml(
        getattr(request, "tenant", None), base_url=_base_url(request)
    )
    response = HttpResponse(body, content_type="text/plain; charset=utf-8")
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _tenant(request: Request) -> Organization:
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        raise APIError("Tenant not found in context")
    return tenant


def more_info_url(request: HttpRequest, sep24_transaction: Sep24Transaction) -> str:
    """The transaction's status page: a signed link that needs no cookie and no
    token, so a wallet can open it at any time."""
    query = urlencode({"t": more_info.sign(sep24_transaction.id)})
    return f"{_base_url(request)}/wallet-registration/status?{query}"


def interactive_url(
    request: HttpRequest, identity: WalletIdentity, sep24_transaction: Sep24Transaction
) -> str:
    token = issue_sep24_token(
        identity, transaction_id=sep24_transaction.id, lang=sep24_transaction.lang
    )
    query = {"transaction_id": str(sep24_transaction.id), "token": token}
    if sep24_transaction.lang:
        query["lang"] = sep24_transaction.lang
    return f"{_base_url(request)}/wallet-registration/start?{urlencode(query)}"


class _BearerAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <token>``; the token names its tenant, which must be
    the request's when the host or header named one."""

    def read(self, token: str):
        raise NotImplementedError

    def authenticate(self, request: Request):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or not token.strip():
            raise exceptions.NotAuthenticated()
        try:
            grant = self.read(token.strip())
        except InvalidToken as exc:
            raise exceptions.AuthenticationFailed() from exc
        identity = getattr(grant, "identity", grant)
        tenant = getattr(request, "tenant", None)
        if tenant is not None and str(tenant.id) != identity.tenant_id:
            raise exceptions.AuthenticationFailed()
        # A deactivated tenant serves no wallet, whatever token it issued before.
        organization = (
            Organization.objects.filter(pk=identity.tenant_id, deleted_at__isnull=True)
            .exclude(status=Organization.Status.DEACTIVATED)
            .first()
        )
        if organization is None:
            raise exceptions.AuthenticationFailed()
        request._request.tenant = organization
        return None, grant

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"


class Sep10TokenAuthentication(_BearerAuthentication):
    def read(self, token: str):
        return read_sep10_token(token)


class Sep24TokenAuthentication(_BearerAuthentication):
    def read(self, token: str):
        return read_sep24_token(token)


class HasGrant(permissions.BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return request.auth is not None


class SepView(APIView):
    """SEP endpoints are read by wallets on other origins (SEP-10 and SEP-24:
    ``Access-Control-Allow-Origin: *`` on every answer, errors included)."""

    def initial(self, request, *args, **kwargs):
        if request.method == "OPTIONS":  # a preflight carries no token
            self.format_kwarg = self.get_format_suffix(**kwargs)
            return
        super().initial(request, *args, **kwargs)

    def options(self, request, *args, **kwargs):
        """The browser's preflight: any origin may send the token."""
        response = Response(status=204)
        response["Access-Control-Allow-Methods"] = ", ".join(self.allowed_methods)
        response["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        response["Access-Control-Max-Age"] = "86400"
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Access-Control-Allow-Origin"] = "*"
        return response


class PublicView(SepView):
    authentication_classes: list = []
    permission_classes: list = []


class Sep10AuthView(PublicView):
    def get(self, request: Request) -> Response:
        challenge = web_auth.create_challenge(
            _tenant(request),
            account=request.query_params.get("account", ""),
            memo=request.query_params.get("memo", ""),
            home_domain=request.query_params.get("home_domain", ""),
            client_domain=request.query_params.get("client_domain", ""),
            request_host=request.get_host(),
        )
        return Response(
            {
                "transaction": challenge.transaction,
                "network_passphrase": challenge.network_passphrase,
            }
        )

    def post(self, request: Request) -> Response:
        xdr = (
            request.data.get("transaction", "") if hasattr(request.data, "get") else ""
        )
        token = web_auth.exchange_challenge(
            _tenant(request),
            transaction_xdr=str(xdr or ""),
            request_host=request.get_host(),
            issuer=f"{_base_url(request)}/sep10/auth",
        )
        return Response({"token": token})


class Sep24InfoView(PublicView):
    def get(self, request: Request) -> Response:
        return Response(interactive.sep24_info(_tenant(request)))


class WalletView(SepView):
    """SEP-24's authenticated endpoints: a missing or invalid SEP-10 token is
    ``403 {"type": "authentication_required"}``, as the spec says."""

    authentication_classes = [Sep10TokenAuthentication]
    permission_classes = [HasGrant]

    def handle_exception(self, exc):
        if isinstance(
            exc,
            (
                exceptions.NotAuthenticated,
                exceptions.AuthenticationFailed,
                exceptions.PermissionDenied,
            ),
        ):
            return Response({"type": "authentication_required"}, status=403)
        return super().handle_exception(exc)


class Sep24InteractiveDepositView(WalletView):
    def post(self, request: Request) -> Response:
        identity: WalletIdentity = request.auth
        data = request.data if hasattr(request.data, "get") else {}
        sep24_transaction = interactive.start_interactive_deposit(
            request.tenant,
            identity,
            asset_code=str(data.get("asset_code", "")),
            asset_issuer=str(data.get("asset_issuer", "")),
            account=str(data.get("account", "")),
            lang=str(data.get("lang", "")),
        )
        return Response(
            {
                "type": "interactive_customer_info_needed",
                "url": interactive_url(request, identity, sep24_transaction),
                "id": str(sep24_transaction.id),
            }
        )


class Sep24TransactionView(WalletView):
    def get(self, request: Request) -> Response:
        params = request.query_params
        sep24_transaction = interactive.transaction_for(
            request.tenant,
            request.auth,
            params.get("id", ""),
            stellar_transaction_id=params.get("stellar_transaction_id", ""),
            external_transaction_id=params.get("external_transaction_id", ""),
        )
        body = interactive.transaction_body(
            sep24_transaction, more_info_url=more_info_url(request, sep24_transaction)
        )
        return Response({"transaction": body})


class Sep24TransactionsView(WalletView):
    def get(self, request: Request) -> Response:
        params = request.query_params
        found = interactive.transactions_for(
            request.tenant,
            request.auth,
            interactive.HistoryQuery(
                asset_code=params.get("asset_code", ""),
                kind=params.get("kind", ""),
                limit=params.get("limit", ""),
                paging_id=params.get("paging_id", ""),
                no_older_than=params.get("no_older_than", ""),
            ),
        )
        return Response(
            {
                "transactions": [
                    interactive.transaction_body(
                        sep24_transaction,
                        more_info_url=more_info_url(request, sep24_transaction),
                    )
                    for sep24_transaction in found
                ]
            }
        )


# --- the registration JSON API (SDP's /sep24-interactive-deposit/*) -----------


class InteractiveView(APIView):
    authentication_classes = [Sep24TokenAuthentication]
    permission_classes = [HasGrant]

    def sep24_transaction(self, request: Request) -> Sep24Transaction:
        sep24_transaction = (
            Sep24Transaction.objects.select_related("organization")
            .filter(pk=request.auth.transaction_id, organization=request.tenant)
            .first()
        )
        if sep24_transaction is None:
            raise exceptions.AuthenticationFailed()
        return sep24_transaction

    def body(self, request: Request) -> dict:
        if not hasattr(request.data, "get"):
            raise registration.RegistrationError("400_0")
        return request.data

    def check_captcha(self, request: Request, organization: Organization) -> None:
        try:
            captcha.verify_captcha(
                organization,
                str(self.body(request).get("recaptcha_token", "")),
                request.META.get("REMOTE_ADDR", ""),
            )
        except captcha.CaptchaInvalid as exc:
            raise registration.RegistrationError("400_1") from exc


class InteractiveInfoView(InteractiveView):
    def get(self, request: Request) -> Response:
        sep24_transaction = self.sep24_transaction(request)
        organization = sep24_transaction.organization
        return Response(
            {
                "organization_name": organization.display_name,
                "organization_logo": f"{_base_url(request)}/organization/logo",
                "privacy_policy_link": organization.privacy_policy_link,
                "is_registered": registration.is_already_registered(sep24_transaction),
                "is_recaptcha_disabled": not captcha.captcha_enabled(organization),
                "recaptcha_site_key": settings.RECAPTCHA_SITE_KEY,
                "captcha_type": settings.CAPTCHA_TYPE,
            }
        )


class InteractiveOTPView(InteractiveView):
    def post(self, request: Request) -> Response:
        sep24_transaction = self.sep24_transaction(request)
        data = self.body(request)
        self.check_captcha(request, sep24_transaction.organization)
        try:
            field = registration.request_otp(
                sep24_transaction,
                phone_number=str(data.get("phone_number", "")),
                email=str(data.get("email", "")),
            )
        except (OTPThrottled, OTPThrottleUnavailable) as exc:
            return Response(
                error_body(exc.status_code, exc.message, exc.extras),
                status=exc.status_code,
                headers={"Retry-After": str(exc.retry_after)},
            )
        return Response(
            {
                "message": _(
                    "if your phone number or email is registered, you'll receive an OTP"
                ),
                "verification_field": field,
            }
        )


class InteractiveVerificationView(InteractiveView):
    def post(self, request: Request) -> Response:
        sep24_transaction = self.sep24_transaction(request)
        data = self.body(request)
        self.check_captcha(request, sep24_transaction.organization)
        registration.verify_and_register(
            sep24_transaction,
            phone_number=str(data.get("phone_number", "")),
            email=str(data.get("email", "")),
            otp=str(data.get("otp", "")),
            verification_field=str(data.get("verification_field", "")),
            verification_value=str(data.get("verification", "")),
        )
        return Response({"message": "ok"})
