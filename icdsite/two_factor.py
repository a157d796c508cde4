"""Two-factor sign-in (TOTP, django-otp) for the editors' admin.

Staff sign in with their password, then with a code from an authenticator app once they have
one set up. With ADMIN_REQUIRE_2FA on (the production default), publishers and superusers must
set one up before any other admin page opens; editors may. A lost phone: a superuser deletes
the person's device under "TOTP devices" and they set up a new one at the next sign-in.
"""

from base64 import b32encode
from functools import update_wrapper

import segno
from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.dispatch import receiver
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice


def is_required(user) -> bool:
    """Publishers and superusers need a second factor when ADMIN_REQUIRE_2FA is on."""
    return settings.ADMIN_REQUIRE_2FA and (user.is_superuser or user.has_perm("conditions.publish_article"))


# Whether the person had a device when signing in: kept in the session so that admin pages
# need no query for it.
HAS_DEVICE_KEY = "_has_second_factor"


@receiver(user_logged_in, dispatch_uid="two_factor_has_device")
def note_device(sender, request, user, **kwargs):
    request.session[HAS_DEVICE_KEY] = user_has_device(user, confirmed=True)


def has_device(request) -> bool:
    if HAS_DEVICE_KEY not in request.session:  # signed in before this was noted
        request.session[HAS_DEVICE_KEY] = user_has_device(request.user, confirmed=True)
    return request.session[HAS_DEVICE_KEY]


def is_pending(request) -> bool:
    """Signed in with the password, but the second factor this person needs is still to come."""
    user = request.user
    return user.is_authenticated and not user.is_verified() and (is_required(user) or has_device(request))


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code from your authenticator app"),
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


def device_for(user) -> TOTPDevice:
    """The person's confirmed device, else the one being set up (made on first visit)."""
    device = TOTPDevice.objects.filter(user=user).order_by("-confirmed", "id").first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


class EditorsAdminSite(admin.AdminSite):
    """The admin, with the second factor asked for before every page but the sign-in and sign-out."""

    def admin_view(self, view, cacheable=False):
        def second_factor_first(request, *args, **kwargs):
            if is_pending(request) and request.path != reverse("admin:logout", current_app=self.name):
                return redirect_to_login(
                    request.get_full_path(), reverse("admin:two_factor", current_app=self.name)
                )
            return view(request, *args, **kwargs)

        return super().admin_view(update_wrapper(second_factor_first, view), cacheable)

    def get_urls(self):
        # Signed in with the password is enough to reach this page (hence the parent's admin_view).
        two_factor = super().admin_view(self.two_factor)
        return [path("two-factor/", two_factor, name="two_factor"), *super().get_urls()]

    def two_factor(self, request):
        """Set up an authenticator app (QR code and key), or enter its code to finish signing in."""
        device = device_for(request.user)
        next_url = request.POST.get("next", request.GET.get("next", ""))
        if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
            next_url = reverse("admin:index", current_app=self.name)
        form = TokenForm(request.POST or None)
        if form.is_valid():
            if device.verify_token(form.cleaned_data["token"].strip()):
                if not device.confirmed:
                    device.confirmed = True
                    device.save(update_fields=["confirmed"])
                otp_login(request, device)
                request.session[HAS_DEVICE_KEY] = True
                return redirect(next_url)
            form.add_error("token", _("That code is not right or was used already; wait for the next one."))
        context = {
            **self.each_context(request),
            "title": _("Two-factor sign-in"),
            "form": form,
            "next": next_url,
            "verified": request.user.is_verified(),
            "setting_up": not device.confirmed,
        }
        if not device.confirmed:
            context["secret"] = b32encode(device.bin_key).decode()
            # segno writes plain SVG elements (no script, no style), safe to put in the page.
            context["qr_svg"] = mark_safe(
                segno.make(device.config_url, error="m").svg_inline(scale=4, dark="#000", light="#fff")
            )  # noqa: S308
        return TemplateResponse(request, "admin/two_factor.html", context)
