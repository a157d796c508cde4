"""Production settings behind a proxy: the HTTPS header is believed only when configured; HSTS options."""

import os
import subprocess
import sys

import pytest

PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "icdsite.settings",
    "DATABASE_URL": "postgres://unused@127.0.0.1:1/unused",
    "DEBUG": "0",
    "SECRET_KEY": "a-long-random-production-like-secret-key-for-the-check-0123456789",
    "ALLOWED_HOSTS": "icd.example.org",
}
SCRIPT = """
import django; django.setup()
from django.conf import settings
from django.test import Client
response = Client().get("/robots.txt", headers={"host": "icd.example.org", "x-forwarded-proto": "https"})
print("RESULT", getattr(settings, "SECURE_PROXY_SSL_HEADER", None))
print("RESULT", response.status_code, response.get("Location", ""))
print("RESULT", settings.SECURE_HSTS_INCLUDE_SUBDOMAINS, settings.SECURE_HSTS_PRELOAD, settings.SILENCED_SYSTEM_CHECKS)
"""


def production(**env):
    environment = {
        k: v for k, v in os.environ.items() if k not in ("SECURE_PROXY_SSL_HEADER", "TRUSTED_PROXIES")
    }
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env={**environment, **PRODUCTION, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    # Only the script's own lines: the request log writes to the output too.
    return [line.removeprefix("RESULT ") for line in run.stdout.splitlines() if line.startswith("RESULT ")]


def test_a_forged_https_header_is_not_believed_by_default():
    header, response, _ = production()
    assert header == "None"
    # The request came over plain HTTP whatever it claims: it is sent to HTTPS.
    assert response == "301 https://icd.example.org/robots.txt"


def test_the_https_header_of_a_configured_proxy_is_believed():
    header, response, _ = production(SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto")
    assert header == "('HTTP_X_FORWARDED_PROTO', 'https')"
    assert response == "200 "


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "True True []"),
        ({"SECURE_HSTS_PRELOAD": "0"}, "True False ['security.W021']"),
        (
            {"SECURE_HSTS_INCLUDE_SUBDOMAINS": "0", "SECURE_HSTS_PRELOAD": "0"},
            "False False ['security.W005', 'security.W021']",
        ),
    ],
)
def test_hsts_subdomains_and_preload_are_configurable(env, expected):
    assert production(**env)[2] == expected
