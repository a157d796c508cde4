"""CORS: web apps on any site may read the API with GET; nothing else of the site is shared."""

import pytest

pytestmark = pytest.mark.django_db
ORIGIN = {"HTTP_ORIGIN": "https://app.example.net"}


@pytest.mark.parametrize(
    "path", ["/api/search?q=elbow", "/api/codes/M61.2", "/api/autocomplete?q=m6", "/api/openapi.json"]
)
def test_api_reads_are_open_to_every_origin(client, path):
    response = client.get(path, **ORIGIN)
    assert response.status_code == 200 and response["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response


def test_a_preflight_allows_get_only(client):
    response = client.options("/api/search?q=elbow", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST", **ORIGIN)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Methods"] == "GET, OPTIONS"


@pytest.mark.parametrize("path", ["/", "/codes/M61.2/", "/search/?q=elbow", "/admin/login/", "/saved/"])
def test_the_rest_of_the_site_is_not_shared(client, path):
    response = client.get(path, **ORIGIN)
    assert "Access-Control-Allow-Origin" not in response
