"""Admin sign-in under attack: lockouts per username and per address, the client address behind a proxy, session timeouts."""

import time_machine
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from icdsite.client_address import client_address

PASSWORD = "correct horse battery staple"
LOGIN = reverse("admin:login")
INDEX = reverse("admin:index")


def sign_in(client, username, password=PASSWORD, **headers):
    return client.post(LOGIN, {"username": username, "password": password}, **headers).status_code


class TestClientAddress:
    def address(self, settings, proxies, remote, forwarded=None):
        settings.TRUSTED_PROXIES = proxies
        headers = {"REMOTE_ADDR": remote}
        if forwarded is not None:
            headers["HTTP_X_FORWARDED_FOR"] = forwarded
        return client_address(RequestFactory().get("/", **headers))

    def test_without_a_trusted_proxy_the_header_is_the_clients_claim_and_ignored(self, settings):
        assert self.address(settings, [], "198.51.100.7", "10.9.9.9") == "198.51.100.7"
        assert self.address(settings, ["10.0.0.1"], "198.51.100.7", "10.9.9.9") == "198.51.100.7"

    def test_behind_a_trusted_proxy_the_last_untrusted_hop_is_the_client(self, settings):
        # The client claimed 1.2.3.4; the proxy appended the address it really saw.
        assert self.address(settings, ["10.0.0.0/8"], "10.0.0.1", "1.2.3.4, 198.51.100.7") == "198.51.100.7"
        assert self.address(settings, ["10.0.0.0/8"], "10.0.0.1", "198.51.100.7, 10.0.0.2") == "198.51.100.7"
        assert (
            self.address(settings, ["10.0.0.0/8", "2001:db8::/32"], "2001:db8::1", "2001:db9::5")
            == "2001:db9::5"
        )

    def test_a_malformed_or_missing_header_falls_back_to_the_nearest_trusted_hop(self, settings):
        assert self.address(settings, ["10.0.0.0/8"], "10.0.0.1", "nonsense") == "10.0.0.1"
        assert self.address(settings, ["10.0.0.0/8"], "10.0.0.1") == "10.0.0.1"
        assert self.address(settings, ["10.0.0.0/8"], "10.0.0.1", "10.0.0.3") == "10.0.0.3"


class TestLockouts:
    def test_password_spraying_from_one_address_is_stopped(self, client, django_user_model, settings):
        for i in range(30):
            django_user_model.objects.create_user(f"user{i}", password=PASSWORD, is_staff=True)
        statuses = [
            sign_in(client, f"user{i}", f"guess {attempt}", REMOTE_ADDR="203.0.113.9")
            for i in range(30)
            for attempt in range(4)
        ]
        limit = settings.AXES_ADDRESS_FAILURE_LIMIT
        assert statuses[: limit - 1] == [200] * (limit - 1)
        assert set(statuses[limit:]) == {429}
        # The address is locked out even with a right password; other addresses are not.
        assert sign_in(client, "user0", REMOTE_ADDR="203.0.113.9") == 429
        assert sign_in(client, "user0", REMOTE_ADDR="198.51.100.20") == 302

    def test_a_forged_forwarded_header_does_not_dodge_the_address_limit(self, db, client, settings):
        statuses = [
            sign_in(
                client, f"nobody{i}", "guess", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=f"10.1.0.{i}"
            )
            for i in range(settings.AXES_ADDRESS_FAILURE_LIMIT + 1)
        ]
        assert statuses[-1] == 429

    def test_behind_the_proxy_an_attacker_cannot_lock_an_editor_out(self, client, editor, settings):
        settings.TRUSTED_PROXIES = ["10.0.0.1"]
        via_proxy = {"REMOTE_ADDR": "10.0.0.1"}
        attacker = [
            sign_in(client, "eddie", f"guess {i}", HTTP_X_FORWARDED_FOR="203.0.113.66", **via_proxy)
            for i in range(settings.AXES_FAILURE_LIMIT + 1)
        ]
        assert attacker[-1] == 429
        # The editor's own address, seen by the same proxy, is not locked.
        assert sign_in(client, "eddie", HTTP_X_FORWARDED_FOR="198.51.100.20", **via_proxy) == 302

    def test_the_lockout_of_a_username_is_short(self, client, editor, settings):
        with time_machine.travel(timezone.now(), tick=False) as clock:
            statuses = [sign_in(client, "eddie", f"guess {i}") for i in range(settings.AXES_FAILURE_LIMIT)]
            assert statuses[-1] == 429 and sign_in(client, "eddie") == 429
            clock.shift(settings.AXES_COOLOFF_TIME.total_seconds() - 60)
            assert sign_in(client, "eddie") == 429
            clock.shift(120)
            assert sign_in(client, "eddie") == 302


class TestSessionTimeouts:
    def test_a_session_ends_after_half_an_hour_without_a_request(self, client, editor, settings):
        assert settings.SESSION_IDLE_TIMEOUT == 30 * 60
        with time_machine.travel(timezone.now(), tick=False) as clock:
            client.force_login(editor)
            for _ in range(3):  # active for an hour in all: still signed in
                clock.shift(20 * 60)
                assert client.get(INDEX).status_code == 200
            clock.shift(31 * 60)
            response = client.get(INDEX)
            assert response.status_code == 302 and response["Location"].startswith(LOGIN)
            # Signed out for good, not just redirected once.
            assert client.get(INDEX).status_code == 302

    def test_a_session_ends_at_its_absolute_age_however_active(self, client, editor, settings):
        settings.SESSION_IDLE_TIMEOUT = 3600
        settings.SESSION_COOKIE_AGE = 2 * 3600
        with time_machine.travel(timezone.now(), tick=False) as clock:
            client.force_login(editor)
            assert client.get(INDEX).status_code == 200
            for _ in range(3):
                clock.shift(30 * 60)
                assert client.get(INDEX).status_code == 200
            clock.shift(31 * 60)
            assert client.get(INDEX).status_code == 302

    def test_visitors_without_a_session_are_not_touched(self, db, client):
        # Checking every request's session would add "Vary: Cookie" to every public page.
        response = client.get("/codes/M61.2/")
        assert response.status_code == 200 and "Cookie" not in response.get("Vary", "")
