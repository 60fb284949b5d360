"""The Django admin's door for platform operators (issue 16 item 5).

- The API's login lockout (``auth_org.throttle``, per account and per IP, the
  database standing in for Redis) on the admin login and on TOTP enrolment; every
  try is audited like a dashboard login.
- A TOTP second factor from django-otp. A staff user with a confirmed device gives
  its code with the password, always. Where the factor is required
  (``ADMIN_REQUIRE_OTP``, always on in production) the admin opens only to a
  session verified by a device, and a user who has none is sent, after the
  password, to enrol one: the key (and its ``otpauth://`` URL) to put into an
  authenticator app, then a code from it.
"""

from __future__ import annotations

from base64 import b32encode

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.forms.utils import ErrorDict
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django_otp import devices_for_user, user_has_device
from django_otp import login as otp_login
from django_otp.admin import OTPAdminAuthenticationForm
from django_otp.plugins.otp_totp.models import TOTPDevice

from auth_org import audit, throttle
from auth_org.audit import Action
from auth_org.models import User
from core.api import APIError
from core.middleware import client_ip

INVALID_CODE = "Invalid code. Enter the current code of your authenticator app."


def otp_required() -> bool:
    return settings.PRODUCTION or settings.ADMIN_REQUIRE_OTP


class OperatorAuthenticationForm(OTPAdminAuthenticationForm):
    """Email and password, plus the TOTP code of a user who has a device."""

    def clean(self):
        cleaned = AdminAuthenticationForm.clean(self)
        user = self.get_user()
        if user is not None and user_has_device(user):
            self.clean_otp(user)
        return cleaned

    def _chosen_device(self, user):
        # An operator has one authenticator: no device to pick from a list.
        device = super()._chosen_device(user)
        if device is None:
            devices = list(devices_for_user(user, for_verify=True))
            if len(devices) == 1:
                device = devices[0]
        return device


def _staff_user(email: str) -> User | None:
    return User.objects.filter(email__iexact=email.strip(), is_staff=True).first()


def _locked_form(request: HttpRequest, form_class, message: str):
    form = form_class(request, data={"username": request.POST.get("username", "")})
    form._errors, form.cleaned_data = ErrorDict(), {}
    form.add_error(None, message)
    return form


class OperatorAdminSite(admin.AdminSite):
    login_form = OperatorAuthenticationForm
    login_template = "otp/admin111/login.html"

    def has_permission(self, request: HttpRequest) -> bool:
        if not super().has_permission(request):
            return False
        return not otp_required() or request.user.is_verified()

    def get_urls(self):
        return [
            path("otp/enrol/", self.enrol_view, name="otp_enrol"),
            *super().get_urls(),
        ]

    def _needs_enrolment(self, user) -> bool:
        return (
            otp_required()
            and user.is_authenticated
            and user.is_active
            and user.is_staff
            and not user_has_device(user)
        )

    @method_decorator(never_cache)
    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        if request.method != "POST":
            if self._needs_enrolment(request.user):
                return HttpResponseRedirect(
                    reverse("admin:otp_enrol", current_app=self.name)
                )
            return super().login(request, extra_context)
        email, ip = request.POST.get("username", ""), client_ip(request)
        try:
            throttle.ensure_login_allowed(throttle.ADMIN_SCOPE, email, ip)
        except APIError as exc:
            audit.record(
                Action.LOGIN_LOCKED,
                actor=_staff_user(email),
                ip_address=ip,
                changes={"where": "admin"},
            )
            context = {
                **self.each_context(request),
                "title": "Log in",
                "app_path": request.get_full_path(),
                "form": _locked_form(request, self.login_form, exc.message),
                "username": request.user.get_username(),
                **(extra_context or {}),
            }
            return TemplateResponse(request, self.login_template, context, status=429)
        response = super().login(request, extra_context)
        user = request.user
        if isinstance(response, HttpResponseRedirect) and user.is_authenticated:
            throttle.record_success(throttle.ADMIN_SCOPE, email)
            verified = getattr(user, "otp_device", None) is not None
            audit.record(
                Action.LOGIN_SUCCEEDED,
                organization=user.organization,
                actor=user,
                ip_address=ip,
                changes={"via": "admin_totp" if verified else "admin_password"},
            )
            if self._needs_enrolment(user):
                return HttpResponseRedirect(
                    reverse("admin:otp_enrol", current_app=self.name)
                )
            return response
        locked = throttle.record_failure(throttle.ADMIN_SCOPE, email, ip)
        audit.record(
            Action.LOGIN_FAILED,
            actor=_staff_user(email),
            ip_address=ip,
            changes={"where": "admin", "locked": locked},
        )
        return response

    @method_decorator(never_cache)
    @method_decorator(csrf_protect)
    def enrol_view(self, request: HttpRequest) -> HttpResponse:
        """Put a TOTP device on the signed-in staff user who has none, confirmed
        by a code from it; the session is then verified."""
        user = request.user
        login_url = reverse("admin:login", current_app=self.name)
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return HttpResponseRedirect(login_url)
        if user_has_device(user):
            # The code is asked at login, with the password.
            return HttpResponseRedirect(
                reverse("admin:index", current_app=self.name)
                if self.has_permission(request)
                else login_url
            )
        device = (
            TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
        ) or TOTPDevice.objects.create(user=user, name="admin", confirmed=False)
        error, status = "", 200
        if request.method == "POST":
            ip = client_ip(request)
            try:
                throttle.ensure_login_allowed(throttle.ADMIN_SCOPE, user.email, ip)
            except APIError as exc:
                error, status = exc.message, 429
            else:
                token = request.POST.get("otp_token", "").strip()
                allowed, _ = device.verify_is_allowed()
                if allowed and token and device.verify_token(token):
                    device.confirmed = True
                    device.save(update_fields=["confirmed"])
                    otp_login(request, device)
                    throttle.record_success(throttle.ADMIN_SCOPE, user.email)
                    audit.record(
                        Action.ADMIN_TOTP_ENROLLED,
                        organization=user.organization,
                        actor=user,
                        ip_address=ip,
                        target=device,
                    )
                    return HttpResponseRedirect(
                        reverse("admin:index", current_app=self.name)
                    )
                locked = throttle.record_failure(throttle.ADMIN_SCOPE, user.email, ip)
                audit.record(
                    Action.LOGIN_FAILED,
                    actor=user,
                    ip_address=ip,
                    changes={"where": "admin_totp_enrol", "locked": locked},
                )
                error, status = INVALID_CODE, 400
        context = {
            **self.each_context(request),
            "title": "Set up two-factor authentication",
            "secret": b32encode(device.bin_key).decode(),
            "config_url": device.config_url,
            "error": error,
        }
        return TemplateResponse(request, "admin/otp_enrol.html", context, status=status)
