"""The registration pages a wallet opens (server-rendered, no JavaScript needed).

start (SEP-24 URL with its token) -> contact (phone or email) -> verify (the code
and the verification value) -> success. The SEP-24 token is checked before
anything is shown, then exchanged for a short server-side session so the token
leaves the address bar and the receiver has time to wait for the code.
"""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats, translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views import csrf
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from auth_org.models import Organization
from receivers import captcha, links, registration, selectors, shortlinks
from receivers.forms import ContactForm, VerifyForm
from receivers.models import Sep24Transaction
from receivers.otp_throttle import OTPThrottled, OTPThrottleUnavailable
from receivers.sep import interactive, more_info
from receivers.sep.tokens import InvalidToken, read_sep24_token

SESSION_KEY = "receiver_registration"
SESSION_LIFETIME = timedelta(minutes=30)
TEMPLATES = "receivers/registration"

# Messages for the error codes, as the receiver reads them.
PAGE_ERRORS = {
    "400_1": lambda: _("Please confirm you are not a robot and try again."),
    "400_2": lambda: _(
        "The information you provided could not be found. Check it and try again."
    ),
    "400_3": lambda: _(
        "Too many wrong answers. Contact the organization that is paying you "
        "to unlock your registration."
    ),
    "400_4": lambda: _("Too many wrong codes. Request a new code."),
    "400_5": lambda: _("This code has expired. Request a new code."),
    "400_6": lambda: _("This code is not valid. Check it and try again."),
}
# Answers of registration.verify_and_register without a code of their own.
PAGE_MESSAGES = {
    "This Stellar account is already registered to another receiver.": lambda: _(
        "This wallet account is already registered to another person. "
        "Contact the organization that is paying you."
    ),
}


def _registration_error_message(exc: registration.RegistrationError) -> str:
    """The receiver's words for a refusal, in the page's language; never the
    API's English text."""
    if exc.code in PAGE_ERRORS:
        return PAGE_ERRORS[exc.code]()
    if exc.message in PAGE_MESSAGES:
        return PAGE_MESSAGES[exc.message]()
    return _("We could not register you. Check the information and try again.")


# --- language ------------------------------------------------------------------

# SDP's web app names Ukrainian "ua" (a country code); the language is "uk".
LANGUAGE_ALIASES = {"ua": "uk"}


def page_language(lang: str) -> str | None:
    """One of settings.LANGUAGES for a wallet's ``lang`` (SEP-24: RFC 4646, such
    as "es", "es-AR", "pt_BR"; SDP's "ua"); None when it is not one of ours."""
    tag = (lang or "").strip().replace("_", "-").lower()[:16]
    primary = LANGUAGE_ALIASES.get(tag.split("-")[0], tag.split("-")[0])
    if not primary.isalpha():
        return None
    try:
        return translation.get_supported_language_variant(primary)
    except LookupError:
        return None


def _choose_language(request: HttpRequest, *langs: str) -> str:
    """The first of ``langs`` we speak (the wallet's ``lang``), else the
    browser's Accept-Language, else English."""
    for lang in langs:
        chosen = page_language(lang)
        if chosen:
            return chosen
    return translation.get_language_from_request(request)


def localized(view):
    """Renders the page in the language of its ``lang`` query parameter, else
    of Accept-Language (a view may switch to the registration's own), and only
    for this request: the thread's language is restored afterwards."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        with translation.override(
            _choose_language(request, request.GET.get("lang", ""))
        ):
            response = view(request, *args, **kwargs)
            response.headers.setdefault("Content-Language", translation.get_language())
        patch_vary_headers(response, ("Accept-Language",))
        return response

    return wrapper


def _throttled_message(exc: Exception) -> str:
    seconds = getattr(exc, "retry_after", 60)
    if isinstance(exc, OTPThrottleUnavailable):
        return _("Codes cannot be sent right now. Try again in a minute.")
    return _(
        "A code was sent a moment ago. You can ask for another one in "
        "%(seconds)s seconds."
    ) % {"seconds": seconds}


def _error_page(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return render(
        request, f"{TEMPLATES}/error.html", {"message": message}, status=status
    )


@localized
def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """settings.CSRF_FAILURE_VIEW: a registration form sent without its cookie
    (cookies cleared, an old tab) gets the pages' own error in the reader's
    language; everything else Django's page."""
    if not request.path.startswith("/wallet-registration/"):
        return csrf.csrf_failure(request, reason)
    state = request.session.get(SESSION_KEY) or {}
    _activate_language(request, state.get("lang", ""))
    return _error_page(
        request,
        _("This page has expired. Open the registration again from your wallet."),
        403,
    )


def _activate_language(request: HttpRequest, *langs: str) -> None:
    """Inside a ``localized`` view: the ``lang`` of this request, else the
    registration's, else Accept-Language."""
    translation.activate(_choose_language(request, request.GET.get("lang", ""), *langs))


def registration_session(view):
    """Loads the registration state the start page stored, or refuses."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        state = request.session.get(SESSION_KEY)
        if not state or state.get("expires_at", 0) < time.time():
            request.session.pop(SESSION_KEY, None)
            return _error_page(
                request,
                _(
                    "This registration link has expired. "
                    "Open it again from your wallet."
                ),
                403,
            )
        sep24_transaction = (
            Sep24Transaction.objects.select_related("organization")
            .filter(
                pk=state["transaction_id"],
                organization_id=state["tenant_id"],
                organization__deleted_at__isnull=True,
            )
            .exclude(organization__status=Organization.Status.DEACTIVATED)
            .first()
        )
        if sep24_transaction is None:
            return _error_page(request, _("This registration link is not valid."), 403)
        chosen = page_language(request.GET.get("lang", ""))
        if chosen and chosen != state.get("lang"):
            # The page's language switch: the rest of the registration follows.
            state["lang"] = chosen
            request.session[SESSION_KEY] = state
        _activate_language(request, state.get("lang", ""))
        request.registration_state = state
        return view(request, sep24_transaction, *args, **kwargs)

    return wrapper


def _page(request, template: str, sep24_transaction, **context) -> HttpResponse:
    organization: Organization = sep24_transaction.organization
    status = context.pop("status", 200)
    context.update(
        organization=organization,
        languages=settings.LANGUAGES,
        captcha_enabled=captcha.captcha_enabled(organization),
        recaptcha_site_key=settings.RECAPTCHA_SITE_KEY,
    )
    return render(request, f"{TEMPLATES}/{template}", context, status=status)


def _captcha_ok(request: HttpRequest, organization: Organization) -> bool:
    try:
        captcha.verify_captcha(
            organization,
            request.POST.get("g-recaptcha-response", ""),
            request.META.get("REMOTE_ADDR", ""),
        )
    except captcha.CaptchaInvalid:
        return False
    return True


@never_cache
@localized
@require_GET
def start(request: HttpRequest) -> HttpResponse:
    """The SEP-24 interactive URL: the token must be valid and made for this
    transaction before anything about the organization is shown."""
    token = request.GET.get("token", "")
    if not token and "signature" in request.GET:
        return _invitation(request)
    transaction_id = request.GET.get("transaction_id", "")
    try:
        grant = read_sep24_token(token, transaction_id=transaction_id)
    except InvalidToken:
        return _error_page(
            request,
            _(
                "This registration link is not valid or has expired. "
                "Open it again from your wallet."
            ),
            403,
        )
    tenant = getattr(request, "tenant", None)
    if tenant is not None and str(tenant.id) != grant.identity.tenant_id:
        return _error_page(request, _("This registration link is not valid."), 403)
    exists = (
        Sep24Transaction.objects.filter(
            pk=grant.transaction_id,
            organization_id=grant.identity.tenant_id,
            organization__deleted_at__isnull=True,
            account=grant.identity.account,
            memo=grant.identity.memo,
        )
        .exclude(organization__status=Organization.Status.DEACTIVATED)
        .exists()
    )
    if not exists:
        return _error_page(request, _("This registration link is not valid."), 403)
    # A fresh session key: a session id planted before the token was shown
    # cannot ride along (session fixation).
    request.session.cycle_key()
    # The wallet's language (the URL's, else the one it gave SEP-24); "" lets
    # each page follow the browser's Accept-Language.
    lang = page_language(request.GET.get("lang", "")) or page_language(grant.lang)
    request.session[SESSION_KEY] = {
        "tenant_id": grant.identity.tenant_id,
        "transaction_id": grant.transaction_id,
        "lang": lang or "",
        "expires_at": time.time() + SESSION_LIFETIME.total_seconds(),
    }
    return redirect("receivers-registration:contact")


def _invitation(request: HttpRequest) -> HttpResponse:
    """A signed invitation link opened in a browser: checked with the SEP-10 key
    before anything is shown, then the receiver is sent to their wallet app."""
    candidates = [request.build_absolute_uri()]
    tenant = getattr(request, "tenant", None)
    if tenant is not None and tenant.base_url:
        # Behind a proxy the request's scheme or host may differ from the link's.
        candidates.append(tenant.base_url.rstrip("/") + request.get_full_path())
    if not any(links.verify_signed_url(url) for url in candidates):
        return _error_page(request, _("This invitation link is not valid."), 403)
    if links.link_refused(request.get_full_path(), request):
        return shortlinks.gone_page(request)
    return render(
        request,
        f"{TEMPLATES}/invitation.html",
        {"organization_name": request.GET.get("name", "")},
    )


@never_cache
@localized
@require_http_methods(["GET", "POST"])
@registration_session
def contact(request: HttpRequest, sep24_transaction) -> HttpResponse:
    if registration.is_already_registered(sep24_transaction):
        return _page(request, "already_registered.html", sep24_transaction)
    kinds = selectors.registration_contact_kinds(sep24_transaction)
    asked = request.GET.get("via", "")
    form = ContactForm(request.POST or None, kind=asked if asked in kinds else kinds[0])
    if request.method == "POST" and form.is_valid():
        if not _captcha_ok(request, sep24_transaction.organization):
            form.add_error(None, PAGE_ERRORS["400_1"]())
        else:
            kind, value = form.cleaned_data["kind"], form.cleaned_data["contact"]
            try:
                field = registration.request_otp(
                    sep24_transaction,
                    **{"phone_number" if kind == "phone" else "email": value},
                )
            except (OTPThrottled, OTPThrottleUnavailable) as exc:
                form.add_error(None, _throttled_message(exc))
                response = _page(
                    request,
                    "contact.html",
                    sep24_transaction,
                    form=form,
                    status=exc.status_code,
                )
                response["Retry-After"] = str(exc.retry_after)
                return response
            state = request.registration_state
            state.update(contact_kind=kind, contact=value, verification_field=field)
            request.session[SESSION_KEY] = state
            return redirect("receivers-registration:verify")
    status = 400 if form.errors else 200
    return _page(
        request,
        "contact.html",
        sep24_transaction,
        form=form,
        other_kinds=[kind for kind in kinds if kind != form.kind],
        status=status,
    )


@never_cache
@localized
@require_http_methods(["GET", "POST"])
@registration_session
def verify(request: HttpRequest, sep24_transaction) -> HttpResponse:
    state = request.registration_state
    if not state.get("contact"):
        return redirect("receivers-registration:contact")
    form = VerifyForm(
        request.POST or None, verification_field=state["verification_field"]
    )
    if request.method == "POST" and _answer_in_another_format(form):
        # Perhaps the receiver is asked another fact: the code decides.
        form = _check_code_alone(request, sep24_transaction, state, form)
    elif request.method == "POST" and form.is_valid():
        if not _captcha_ok(request, sep24_transaction.organization):
            form.add_error(None, PAGE_ERRORS["400_1"]())
        else:
            try:
                registration.verify_and_register(
                    sep24_transaction,
                    **{
                        "phone_number"
                        if state["contact_kind"] == "phone"
                        else "email": (state["contact"])
                    },
                    otp=form.cleaned_data["otp"],
                    verification_field=state["verification_field"],
                    verification_value=form.cleaned_data["verification_value"],
                )
            except registration.RegistrationError as exc:
                if exc.code == "400_7":
                    # The code is proven: now ask the fact this receiver has.
                    form = _ask_another_field(
                        request, state, exc.extras["verification_field"]
                    )
                else:
                    form.add_error(None, _registration_error_message(exc))
            else:
                state["registered"] = True
                request.session[SESSION_KEY] = state
                return redirect("receivers-registration:success")
    status = 400 if form.errors else 200
    return _page(
        request,
        "verify.html",
        sep24_transaction,
        form=form,
        contact_kind=state["contact_kind"],
        status=status,
    )


def _answer_in_another_format(form: VerifyForm) -> bool:
    """A well-formed code with an answer not in the asked field's format."""
    return (
        form.is_bound
        and not form.is_valid()
        and "otp" not in form.errors
        and set(form.errors) == {"verification_value"}
        and bool(form.data.get("verification_value"))
    )


def _check_code_alone(
    request: HttpRequest, sep24_transaction, state: dict, form: VerifyForm
) -> VerifyForm:
    if not _captcha_ok(request, sep24_transaction.organization):
        form.add_error(None, PAGE_ERRORS["400_1"]())
        return form
    try:
        field = registration.field_after_code(
            sep24_transaction,
            **{
                "phone_number" if state["contact_kind"] == "phone" else "email": (
                    state["contact"]
                )
            },
            otp=form.cleaned_data["otp"],
            verification_field=state["verification_field"],
        )
    except registration.RegistrationError as exc:
        message = PAGE_ERRORS[exc.code]() if exc.code in PAGE_ERRORS else exc.message
        form.add_error(None, message)
        return form
    return _ask_another_field(request, state, field) if field else form


def _ask_another_field(request: HttpRequest, state: dict, field: str) -> VerifyForm:
    """The verify form again, the code kept, asking the receiver's own fact
    (told only once their code was proven)."""
    state["verification_field"] = field
    request.session[SESSION_KEY] = state
    form = VerifyForm(
        {"otp": request.POST.get("otp", ""), "verification_value": ""},
        verification_field=field,
    )
    form.full_clean()
    form.errors.clear()
    form.add_error(
        None, _("Your code is right. Please answer this question to finish.")
    )
    return form


@never_cache
@localized
@require_http_methods(["POST"])
@registration_session
def resend(request: HttpRequest, sep24_transaction) -> HttpResponse:
    state = request.registration_state
    if state.get("contact"):
        try:
            registration.request_otp(
                sep24_transaction,
                **{
                    "phone_number" if state["contact_kind"] == "phone" else "email": (
                        state["contact"]
                    )
                },
            )
        except (OTPThrottled, OTPThrottleUnavailable) as exc:
            form = VerifyForm(verification_field=state["verification_field"])
            form.cleaned_data = {}  # an unbound form holding only this error
            form.add_error(None, _throttled_message(exc))
            response = _page(
                request,
                "verify.html",
                sep24_transaction,
                form=form,
                contact_kind=state["contact_kind"],
                status=exc.status_code,
            )
            response["Retry-After"] = str(exc.retry_after)
            return response
    return redirect("receivers-registration:verify")


@never_cache
@localized
@require_GET
@registration_session
def success(request: HttpRequest, sep24_transaction) -> HttpResponse:
    if not request.registration_state.get("registered"):
        return redirect("receivers-registration:contact")
    return _page(request, "success.html", sep24_transaction)


def _amount_text(amount: Decimal | None) -> str:
    """The amount (7 places, as stored and as SEP-24 states it) as the page's
    language writes numbers: 1,234.5000000 / 1.234,5000000 / 1 234,5000000."""
    if amount is None:
        return ""
    return formats.number_format(amount, use_l10n=True, force_grouping=True)


@never_cache
@localized
@require_GET
def transaction_status(request: HttpRequest) -> HttpResponse:
    """A SEP-24 transaction's ``more_info_url``: readable by anyone holding the
    signed link, no cookie or token needed; it shows no personal data."""
    transaction_id = more_info.unsign(request.GET.get("t", ""))
    sep24_transaction = (
        Sep24Transaction.objects.select_related("organization")
        .filter(pk=transaction_id, organization__deleted_at__isnull=True)
        .first()
        if transaction_id
        else None
    )
    tenant = getattr(request, "tenant", None)
    if sep24_transaction is None or (
        tenant is not None and tenant.id != sep24_transaction.organization_id
    ):
        return _error_page(request, _("This transaction link is not valid."), 404)
    _activate_language(request, sep24_transaction.lang)
    tx = sep24_transaction
    return _page(
        request,
        "status.html",
        tx,
        tx_status=interactive.transaction_status(tx),
        # The page says why in the reader's language (payment_message is the
        # SEP-24 JSON's English text).
        payment_canceled=tx.payment_status == Sep24Transaction.PaymentStatus.CANCELED,
        amount=_amount_text(tx.amount),
        asset_code=tx.amount_asset.rpartition("stellar:")[2]
        .split(":")[0]
        .replace("native", "XLM"),
        started_at=tx.started_at,
        completed_at=tx.completed_at,
        stellar_transaction_id=tx.stellar_transaction_id,
    )
