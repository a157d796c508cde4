"""Requests per client address to the API and search: a JSON 429 with Retry-After over the limit."""

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone

from conditions.openapi import OPENAPI
from tests.test_openapi import schema_errors

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits(settings):
    cache.clear()
    settings.RATE_LIMITS = [("api", "/api/", 5, 60), ("search", "/search/", 3, 60)]
    yield
    cache.clear()


def statuses(client, path, count, **headers):
    return [client.get(path, **headers).status_code for _ in range(count)]


def test_the_api_answers_429_in_json_past_the_limit(client, limits):
    with time_machine.travel(timezone.now().replace(second=10), tick=False):
        assert statuses(client, "/api/autocomplete?q=m61", 5) == [200] * 5
        response = client.get("/api/search?q=elbow")  # one limit for all of the API
        assert response.status_code == 429 and response["Content-Type"] == "application/json"
        assert response["Retry-After"] == "50"
        assert response.json() == {"error": "Too many requests from your address; try again in 50 seconds."}
        assert schema_errors("/api/search", 429, response.json()) is None
        assert "Retry-After" in OPENAPI["paths"]["/api/search"]["get"]["responses"]["429"]["headers"]
        # Pages other than the API and search are not limited.
        assert client.get("/codes/M61.2/").status_code == 200


def test_other_addresses_are_served_while_one_is_limited(client, limits):
    assert statuses(client, "/api/codes/M61.2", 6, REMOTE_ADDR="203.0.113.1")[-1] == 429
    assert client.get("/api/codes/M61.2", REMOTE_ADDR="203.0.113.2").status_code == 200


def test_the_limit_resets_with_the_next_window(client, limits):
    with time_machine.travel(timezone.now().replace(second=0), tick=False) as clock:
        assert statuses(client, "/api/autocomplete?q=a", 6)[-1] == 429
        clock.shift(61)
        assert client.get("/api/autocomplete?q=a").status_code == 200


def test_search_pages_have_their_own_limit_and_a_page_for_browsers(client, limits):
    assert statuses(client, "/search/?q=elbow", 3, HTTP_ACCEPT="text/html") == [200] * 3
    page = client.get("/search/?q=elbow", HTTP_ACCEPT="text/html,application/xhtml+xml")
    assert page.status_code == 429 and page["Content-Type"].startswith("text/html")
    assert "Too many requests" in page.content.decode() and int(page["Retry-After"]) > 0
    scripted = client.get("/search/?q=elbow")
    assert scripted.status_code == 429 and scripted.json()["error"].startswith("Too many requests")
    assert client.get("/api/autocomplete?q=a").status_code == 200


def test_behind_a_trusted_proxy_each_client_counts_alone(client, limits, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    assert (
        statuses(client, "/api/autocomplete?q=a", 6, HTTP_X_FORWARDED_FOR="198.51.100.1", **proxy)[-1] == 429
    )
    assert (
        client.get("/api/autocomplete?q=a", HTTP_X_FORWARDED_FOR="198.51.100.2", **proxy).status_code == 200
    )
    # Without a trusted proxy the header is the client's claim: changing it does not help.
    settings.TRUSTED_PROXIES = []
    spoofed = [
        client.get(
            "/api/autocomplete?q=a", REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=f"1.2.3.{i}"
        ).status_code
        for i in range(6)
    ]
    assert spoofed[-1] == 429


def test_ipv6_clients_count_per_64_network(client, limits):
    for i in range(5):
        assert client.get("/api/autocomplete?q=a", REMOTE_ADDR=f"2001:db8:1:2::{i + 1}").status_code == 200
    assert client.get("/api/autocomplete?q=a", REMOTE_ADDR="2001:db8:1:2:ffff::9").status_code == 429
    assert client.get("/api/autocomplete?q=a", REMOTE_ADDR="2001:db8:1:3::1").status_code == 200


def test_production_limits_come_from_the_environment():
    import os
    import subprocess
    import sys

    script = "import django; django.setup(); from django.conf import settings; print(settings.RATE_LIMITS)"
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": "postgres://u@127.0.0.1:1/u",
        "API_RATE_LIMIT_PER_MINUTE": "1000",
    }
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[('api', '/api/', 1000, 60), ('search', '/search/', 60, 60)]"
