"""Security headers on every kind of response, a favicon, health checks, and article bodies that load nothing
from other hosts. `make serve` is checked the same way in tests/test_serving.py."""

import json

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from PIL import Image

from conditions.markdown import render_markdown

REQUIRED_DIRECTIVES = {
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}


def csp_directives(value):
    directives = {}
    for part in value.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def assert_security_headers(headers):
    csp = csp_directives(headers["Content-Security-Policy"])
    for directive in ("script-src", "style-src"):
        sources = csp.get(directive, csp["default-src"])
        assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources, (directive, sources)
        assert "*" not in sources
    for directive, sources in REQUIRED_DIRECTIVES.items():
        assert csp[directive] == sources, directive
    assert {"camera=()", "microphone=()", "geolocation=()"} <= set(headers["Permissions-Policy"].split(", "))
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["Cross-Origin-Resource-Policy"] == "same-origin"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


PUBLIC = [
    ("/", 200),
    ("/codes/M61.2/", 200),
    ("/chapters/13/", 200),
    ("/search/?q=tennis+elbow", 200),
    ("/api/search?q=asthma", 200),
    ("/api/codes/M61.2", 200),
    ("/api/autocomplete?q=diab", 200),
    ("/admin/login/", 200),
    ("/codes/Q99.99/", 404),
    ("/no/such/page", 404),
    ("/api/search?limit=abc&q=x", 400),
    ("/robots.txt", 200),
    ("/favicon.ico", 200),
    ("/healthz", 200),
    ("/readyz", 200),
]


@pytest.mark.django_db
@pytest.mark.parametrize("path, status", PUBLIC)
def test_security_headers_on_every_kind_of_response(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert_security_headers(response.headers)
    assert response.headers["Server"] == "icdsite"


@pytest.mark.django_db
def test_security_headers_in_the_admin(client, publisher):
    client.force_login(publisher)
    for path in ("/admin/", "/admin/conditions/article/", "/admin/conditions/article/add/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_security_headers(response.headers)


@pytest.mark.django_db
def test_bad_host_answers_400_with_the_headers():
    response = Client(HTTP_HOST="evil.example").get("/codes/M61.2/")
    assert response.status_code == 400
    assert_security_headers(response.headers)


@pytest.mark.django_db
def test_healthz_answers_without_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_asks_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get("/readyz")
    assert (response.status_code, json.loads(response.content)) == (
        200,
        {"status": "ok", "checks": {"database": True}},
    )
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_health_checks_are_not_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/codes/M61.2/").status_code == 301
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


@pytest.mark.django_db
def test_pages_offer_a_favicon_a_touch_icon_and_a_png_social_image(client):
    html = client.get("/codes/M61.2/").content.decode()
    assert '<link rel="icon" href="/favicon.ico"' in html
    assert '<link rel="apple-touch-icon" href="/apple-touch-icon.png">' in html
    assert '<meta property="og:image" content="http://testserver/static/img/og-image.png">' in html
    with Image.open(finders.find("img/og-image.png")) as image:
        assert (image.format, image.size) == ("PNG", (1200, 630))
    icon = client.get("/apple-touch-icon.png")
    assert (icon.status_code, icon["Content-Type"], icon.content[:4]) == (200, "image/png", b"\x89PNG")
    assert "max-age=604800" in icon["Cache-Control"]


def test_article_bodies_load_no_images_from_anywhere():
    html = render_markdown(
        "See ![a tracking pixel](https://tracker.example/p.gif) and <img src='https://x.example/a.png'>"
    )
    assert "<img" not in html
    assert "tracker.example" not in html
    assert "a tracking pixel" in html
