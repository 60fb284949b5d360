"""Forms of the registration pages: shape and field rules only."""

from __future__ import annotations

from datetime import date

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from receivers.models import VerificationField
from receivers.registration import RegistrationError, normalize_contact
from receivers.verification import (
    InvalidVerificationValue,
    normalize_verification_value,
)


class AccessibleForm(forms.Form):
    """Ties each input to its help text and error message for screen readers."""

    def full_clean(self) -> None:
        super().full_clean()
        self.describe_fields()

    def describe_fields(self) -> None:
        for name, field in self.fields.items():
            bound = self[name]
            ids = []
            if field.help_text:
                ids.append(f"{bound.auto_id}_help")
            if self.is_bound and name in self.errors:
                ids.append(f"{bound.auto_id}_error")
                field.widget.attrs["aria-invalid"] = "true"
            if ids:
                field.widget.attrs["aria-describedby"] = " ".join(ids)


CONTACT_KINDS = ("phone", "email")


class ContactForm(AccessibleForm):
    """One contact input: the phone number or the email address, whichever the
    page asks for (``kind``); a posted ``contact_kind`` says which one came."""

    # Read in __init__ (an unknown value falls back to the page's kind).
    contact_kind = forms.CharField(required=False, widget=forms.HiddenInput)
    phone_number = forms.CharField(
        label=_("Phone number"),
        help_text=_("With the country code, for example +14155550100."),
        required=False,
        max_length=32,
        error_messages={"max_length": _("This phone number is too long.")},
        widget=forms.TextInput(
            attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}
        ),
    )
    email = forms.EmailField(
        label=_("Email address"),
        required=False,
        max_length=254,
        error_messages={
            "max_length": _("This email address is too long."),
            "invalid": _("Enter a valid email address."),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def __init__(self, *args, kind: str = "phone", **kwargs):
        super().__init__(*args, **kwargs)
        if self.is_bound:
            posted = self.data.get("contact_kind")
            if posted in CONTACT_KINDS:
                kind = posted
            elif self.data.get("email") and not self.data.get("phone_number"):
                kind = "email"
        self.kind = kind if kind in CONTACT_KINDS else "phone"
        self.field_name = "email" if self.kind == "email" else "phone_number"
        del self.fields["phone_number" if self.kind == "email" else "email"]
        self.fields["contact_kind"].initial = self.kind
        self.describe_fields()

    @property
    def contact_field(self):
        return self[self.field_name]

    def clean(self) -> dict:
        data = super().clean()
        field = self.field_name
        if field in self.errors:
            return data
        value = data.get(field) or ""
        if not value:
            self.add_error(field, _("This field is required."))
            return data
        try:
            data["kind"], data["contact"] = normalize_contact(
                **{field: value}  # the other contact stays empty
            )
        except RegistrationError:
            message = (
                _("Enter a valid email address.")
                if field == "email"
                else _(
                    "Enter a valid phone number, starting with + and the country code."
                )
            )
            self.add_error(field, message)
        return data


VERIFICATION_LABELS = {
    VerificationField.DATE_OF_BIRTH: _("Date of birth"),
    VerificationField.YEAR_MONTH: _("Year and month of birth"),
    VerificationField.PIN: _("PIN"),
    VerificationField.NATIONAL_ID_NUMBER: _("National ID number"),
}

VERIFICATION_HELP = {
    # The browser's date and month pickers show the date in the reader's own
    # format (e.g. mm/dd/yyyy, dd.mm.yyyy): the hint names no other one.
    VerificationField.DATE_OF_BIRTH: _(
        "Pick the date in the calendar, or type it in the order the field shows."
    ),
    VerificationField.YEAR_MONTH: _(
        "Pick the month in the calendar, or type it in the order the field shows."
    ),
    VerificationField.PIN: _("The PIN the organization gave you."),
    VerificationField.NATIONAL_ID_NUMBER: _("As written on your ID document."),
}


def _verification_widget(field: str) -> forms.Widget:
    # A browser without a picker shows a text box: the placeholder (ignored by
    # those with one) then gives the format the server reads.
    if field == VerificationField.DATE_OF_BIRTH:
        return forms.DateInput(
            format="%Y-%m-%d",
            attrs={
                "type": "date",
                "autocomplete": "bday",
                "min": "1900-01-01",
                "max": date.today().isoformat(),  # noqa: DTZ011 - a calendar date
                "placeholder": _("YYYY-MM-DD"),
            },
        )
    if field == VerificationField.YEAR_MONTH:
        return forms.TextInput(attrs={"type": "month", "placeholder": _("YYYY-MM")})
    if field == VerificationField.PIN:
        return forms.PasswordInput(
            attrs={"inputmode": "numeric", "autocomplete": "off"}
        )
    return forms.TextInput(attrs={"autocomplete": "off"})


class VerifyForm(AccessibleForm):
    otp = forms.CharField(
        label=_("6-digit code"),
        min_length=6,
        max_length=6,
        error_messages={
            "required": _("Enter the 6-digit code we sent you."),
            "min_length": _("The code has 6 digits."),
            "max_length": _("The code has 6 digits."),
        },
        validators=[RegexValidator(r"^\d{6}$", _("The code has 6 digits."))],
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": r"\d{6}",
            }
        ),
    )
    verification_value = forms.CharField(
        max_length=64,
        error_messages={
            "required": _("This field is required."),
            "max_length": _("This value is too long."),
        },
    )

    def __init__(self, *args, verification_field: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.verification_field = verification_field
        value = self.fields["verification_value"]
        value.label = VERIFICATION_LABELS.get(verification_field, _("Verification"))
        value.help_text = VERIFICATION_HELP.get(verification_field, "")
        value.widget = _verification_widget(verification_field)
        self.describe_fields()

    def clean_verification_value(self) -> str:
        value = self.cleaned_data["verification_value"]
        try:
            normalize_verification_value(self.verification_field, value)
        except InvalidVerificationValue as exc:
            raise forms.ValidationError(str(exc)) from exc
        return value
