from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

# Checked before hashing so that a huge password cannot make Argon2 do huge work.
MAX_PASSWORD_LENGTH = 1024


class LoginForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=MAX_PASSWORD_LENGTH,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label=_("Authenticator code or recovery code"),
        max_length=64,
        required=False,
        help_text=_("Leave empty only the first time you sign in, before you have set up an authenticator."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class EnrolForm(forms.Form):
    code = forms.CharField(
        label=_("Code shown by your authenticator"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class StepUpForm(forms.Form):
    """The code asked again before an opening (access.stepup); posted to the interrupted action."""

    step_up_code = forms.CharField(
        label=_("Code shown by your authenticator"),
        help_text=_("Or one of your recovery codes, if you have lost your authenticator."),
        max_length=64,
        required=False,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "spellcheck": "false",
                "class": "govuk-input--width-10",
            }
        ),
    )
