"""Two-factor sign-in (TOTP) for the admin: required of publishers and superusers when ADMIN_REQUIRE_2FA is on."""

import os
import re
import subprocess
import sys
from base64 import b32decode

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.test_login_security import PASSWORD, sign_in

INDEX = reverse("admin:index")
TWO_FACTOR = reverse("admin:two_factor")
ARTICLES = reverse("admin:conditions_article_changelist")


def code_for(key: bytes, at_offset=0) -> str:
    totp = TOTP(key)
    totp.time = timezone.now().timestamp() + at_offset
    return f"{totp.token():06d}"


@pytest.fixture
def required(settings):
    settings.ADMIN_REQUIRE_2FA = True


def set_up_device(client, user):
    """Walk through the set-up page as the person would: read the key off the page, enter a code."""
    client.post(reverse("admin:login"), {"username": user.username, "password": PASSWORD})
    page = client.get(TWO_FACTOR).content.decode()
    secret = re.search(r"<code>([A-Z2-7]+)</code>", page).group(1)
    key = b32decode(secret)
    response = client.post(TWO_FACTOR, {"token": code_for(key), "next": ARTICLES})
    assert response.status_code == 302 and response["Location"] == ARTICLES
    return key


def test_publishers_must_set_up_a_second_factor_before_any_admin_page(client, publisher, required):
    assert sign_in(client, "pat") == 302
    for url in (INDEX, ARTICLES, reverse("admin:conditions_article_add")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(TWO_FACTOR + "?next=")
    page = client.get(TWO_FACTOR)
    html = page.content.decode()
    assert page.status_code == 200 and "Turn on two-factor sign-in" in html
    assert re.search(r'<figure class="two-factor-qr"><svg [^>]*>.*</svg>', html, re.S)
    assert "<script" not in html.split('id="content"')[1]
    # A wrong code keeps the door shut.
    response = client.post(TWO_FACTOR, {"token": "000000", "next": ARTICLES})
    assert response.status_code == 200 and "not right" in response.content.decode()
    assert client.get(ARTICLES).status_code == 302
    assert not TOTPDevice.objects.get(user=publisher).confirmed


def test_after_set_up_each_sign_in_asks_for_a_code(client, publisher, required):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        key = set_up_device(client, publisher)
        assert client.get(ARTICLES).status_code == 200
        assert TOTPDevice.objects.get(user=publisher).confirmed
        client.post(reverse("admin:logout"))

        clock.shift(60)
        assert sign_in(client, "pat") == 302
        response = client.get(INDEX)
        assert response["Location"].startswith(TWO_FACTOR)
        page = client.get(TWO_FACTOR).content.decode()
        assert "two-factor-qr" not in page and "<code>" not in page  # no key shown once set up
        # A code used once cannot be replayed.
        used = code_for(key)
        assert client.post(TWO_FACTOR, {"token": used}).status_code == 302
        assert client.get(INDEX).status_code == 200


def test_a_code_cannot_be_used_twice_and_guesses_are_throttled(client, publisher, required):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        key = set_up_device(client, publisher)
        client.post(reverse("admin:logout"))
        sign_in(client, "pat")
        # The code that set the device up was used: it is refused now.
        assert client.post(TWO_FACTOR, {"token": code_for(key)}).status_code == 200
        for _ in range(3):
            client.post(TWO_FACTOR, {"token": "123456"})
        # Throttled: the next valid code (accepted a step early) waits for the back-off...
        assert client.post(TWO_FACTOR, {"token": code_for(key, at_offset=30)}).status_code == 200
        # ...which doubles with each failure: 8 seconds after four.
        clock.shift(30)
        assert client.post(TWO_FACTOR, {"token": code_for(key)}).status_code == 302


def test_superusers_need_it_too_and_editors_may_choose(client, editor, admin_user, required):
    admin_user.set_password(PASSWORD)
    admin_user.save()
    sign_in(client, "admin")
    assert client.get(INDEX)["Location"].startswith(TWO_FACTOR)
    client.post(reverse("admin:logout"))

    sign_in(client, "eddie")
    assert client.get(ARTICLES).status_code == 200
    set_up_device(client, editor)  # opted in: from now on asked every time
    client.post(reverse("admin:logout"))
    sign_in(client, "eddie")
    assert client.get(ARTICLES)["Location"].startswith(TWO_FACTOR)


def test_without_the_setting_a_password_is_enough_for_publishers(client, publisher, settings):
    settings.ADMIN_REQUIRE_2FA = False
    sign_in(client, "pat")
    assert client.get(ARTICLES).status_code == 200


def test_sign_out_works_while_the_second_factor_is_pending(client, publisher, required):
    sign_in(client, "pat")
    client.post(reverse("admin:logout"))
    response = client.get(TWO_FACTOR)
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]


def test_an_unsafe_next_address_is_not_followed(client, publisher, required):
    key = set_up_device(client, publisher)
    client.post(reverse("admin:logout"))
    sign_in(client, "pat")
    with time_machine.travel(timezone.now().timestamp() + 30, tick=False):
        response = client.post(TWO_FACTOR, {"token": code_for(key), "next": "https://evil.example/"})
    assert response["Location"] == INDEX


def test_production_requires_it_by_default():
    script = (
        "import django; django.setup(); from django.conf import settings; print(settings.ADMIN_REQUIRE_2FA)"
    )
    base = {"DJANGO_SETTINGS_MODULE": "icdsite.settings", "DATABASE_URL": "postgres://u@127.0.0.1:1/u"}
    production = {**base, "DEBUG": "0", "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "icd.example.org"}

    def value(env):
        run = subprocess.run(
            [sys.executable, "-c", script], env={**os.environ, **env}, capture_output=True, text=True
        )
        return run.stdout.strip() or run.stderr

    assert value(production) == "True"
    assert value({**production, "ADMIN_REQUIRE_2FA": "0"}) == "False"
    assert value({**base, "DEBUG": "1"}) == "False"
