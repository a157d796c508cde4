"""The OpenAPI description (conditions/openapi.py) matches what the API really answers.

Each request below is made for real and its JSON checked against the schema the description
gives for that operation and status. A response with a field the description lacks (or without
one it promises) fails here: describe the change in conditions/openapi.py.
"""

import re
from urllib.parse import urlsplit

import pytest
from django.urls import get_resolver
from jsonschema import Draft202012Validator

from conditions import services
from conditions.models import Article
from conditions.openapi import OPENAPI

pytestmark = pytest.mark.django_db

# (address, expected status): together they give every documented operation and status.
REQUESTS = [
    ("/api/search?q=tennis+elbow&limit=3", 200),
    ("/api/search?q=M61", 200),
    ("/api/search?q=wombatoid+nonsense", 200),
    ("/api/search?q=", 200),
    ("/api/search?q=diabetes&limit=100", 200),
    ("/api/search", 400),
    ("/api/search?q=x&limit=0", 400),
    ("/api/search?q=x&limit=ten", 400),
    ("/api/autocomplete?q=diab", 200),
    ("/api/autocomplete?q=m61", 200),
    ("/api/autocomplete", 200),
    ("/api/codes/M61.2", 200),
    ("/api/codes/m612", 200),
    ("/api/codes/S72.001A", 200),
    ("/api/codes/E11.9", 200),
    ("/api/codes/A00", 200),
    ("/api/codes/N39.0", 200),
    ("/api/codes/Z99.99", 404),
    ("/api/codes/%3Cscript%3E", 404),
    ("/api/saved-codes?codes=A00.0,M61.2,Z99.99,nonsense", 200),
    ("/api/saved-codes", 200),
    ("/api/saved-codes?codes=" + ",".join(["A00.0"] * 150), 400),
]


def operation_for(address: str) -> tuple[str, dict]:
    path = urlsplit(address).path
    for template, methods in OPENAPI["paths"].items():
        pattern = "^" + "[^/]+".join(re.escape(part) for part in re.split(r"\{[^}]+\}", template)) + "$"
        if re.match(pattern, path):
            return template, methods["get"]
    raise AssertionError(f"{path} is not in the OpenAPI description (conditions/openapi.py, PATHS).")


def schema_errors(address: str, status: int, body) -> str | None:
    """None when the body matches the description of this path and status; else what differs, in plain words."""
    template, operation = operation_for(address)
    response = operation["responses"].get(str(status))
    if response is None:
        return f"GET {template} answered {status}, a status its description in conditions/openapi.py does not list."
    schema = {**response["content"]["application/json"]["schema"], "components": OPENAPI["components"]}
    errors = sorted(
        Draft202012Validator(schema).iter_errors(body), key=lambda e: list(map(str, e.absolute_path))
    )
    if not errors:
        return None
    lines = [
        f"  at {'/'.join(map(str, e.absolute_path)) or '(the whole body)'}: {e.message}" for e in errors[:10]
    ]
    return (
        f"GET {address} ({status}) does not match its OpenAPI description:\n" + "\n".join(lines) + "\n"
        "If the API changed on purpose, describe the change in conditions/openapi.py "
        f"(components.schemas, or PATHS[{template!r}])."
    )


@pytest.fixture
def published_article(publisher):
    article = services.article_save(
        article=Article(
            code_id="N39.0",
            title="Bladder infection",
            summary="An infection.",
            body="Drink water.",
            author="A",
        ),
        user=publisher,
    )
    services.article_publish(article=article, user=publisher)
    return article


def test_the_description_is_valid_openapi_3_1_and_json_schema():
    assert OPENAPI["openapi"].startswith("3.1.")
    for name, schema in OPENAPI["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema), name
    for path, methods in OPENAPI["paths"].items():
        for operation in methods.values():
            for parameter in operation["parameters"]:
                Draft202012Validator.check_schema(parameter["schema"])
            if "{" in path:
                names = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
                assert names == set(re.findall(r"\{([^}]+)\}", path))


def test_every_real_response_matches_the_description(client, published_article):
    seen = set()
    problems = []
    for path, expected in REQUESTS:
        response = client.get(path)
        assert response.status_code == expected, f"GET {path}: {response.status_code}"
        assert response["Content-Type"] == "application/json"
        problem = schema_errors(path, response.status_code, response.json())
        if problem:
            problems.append(problem)
        seen.add((operation_for(path)[0], str(response.status_code)))
    assert not problems, "\n\n".join(problems)
    assert client.get("/api/codes/N39.0").json()["article"]["title"] == "Bladder infection"
    documented = {
        (template, status)
        for template, methods in OPENAPI["paths"].items()
        for status in methods["get"]["responses"]
        if status not in ("429", "410")  # tests/test_rate_limit.py checks 429s; deleted codes need their data
    }
    assert documented <= seen, f"No request above gives {sorted(documented - seen)}: add one to REQUESTS."


def test_a_drifted_response_is_reported_clearly(client):
    body = client.get("/api/codes/M61.2").json()
    body["new_field"] = 1
    del body["title"]
    body["children"][0]["billable"] = "yes"
    message = schema_errors("/api/codes/M61.2", 200, body)
    assert "Additional properties are not allowed ('new_field' was unexpected)" in message
    assert "'title' is a required property" in message
    assert "at children/0/billable: 'yes' is not of type 'boolean'" in message
    assert "describe the change in conditions/openapi.py" in message


def test_every_api_address_is_described():
    described = {template.lstrip("/") for template in OPENAPI["paths"]}
    undocumented = []
    for pattern in get_resolver().url_patterns:
        for inner in getattr(pattern, "url_patterns", [pattern]):
            route = str(inner.pattern)
            as_template = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
            if (
                route.startswith("api/")
                and route not in ("api/openapi.json", "api/")
                and as_template not in described
            ):
                undocumented.append(route)
    assert not undocumented, f"Describe these API addresses in conditions/openapi.py: {undocumented}"


def test_the_description_is_served_as_json_and_as_a_page(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response.json() == OPENAPI
    page = client.get("/api/")
    html = page.content.decode()
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    for template, methods in OPENAPI["paths"].items():
        assert f'<h2 id="{methods["get"]["operationId"]}-heading"><code>GET {template}</code></h2>' in html
    assert '<h3 id="schema-CodeDetail">CodeDetail</h3>' in html
    assert 'href="/api/openapi.json"' in html
    assert "<script>" not in html and "<style" not in html and " style=" not in html
