"""The public API fuzzed against its OpenAPI description with schemathesis, in a bounded time.

Every generated request (valid ones, and invalid ones the description rules out) must get an
answer that matches the description (status, content type, body schema, headers), never a 5xx.
Each operation gets SECONDS_PER_OPERATION of requests at most, and MAX_EXAMPLES cases.
"""

import time

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from conditions.openapi import OPENAPI

SECONDS_PER_OPERATION = 15
MAX_EXAMPLES = 300
started: dict[str, float] = {}


# The description served at /api/openapi.json (tests/test_openapi.py checks it is this one),
# fuzzed through Django's WSGI application: real middleware, views and PostgreSQL.
schema = schemathesis.openapi.from_dict(OPENAPI)
schema.app = get_wsgi_application()


@pytest.fixture(autouse=True)
def one_connection_for_the_test():
    """Keep the test's transaction open between requests, as Django's test client does
    (a real WSGI handler closes the connection at the start and end of each request)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases on every run: a failure here is never a fluke
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_api_answers_every_request_as_described(case):
    start = started.setdefault(case.operation.label, time.monotonic())
    if time.monotonic() - start > SECONDS_PER_OPERATION:
        return  # this operation's time is used up; Hypothesis only finishes counting its cases
    # Uncompressed: the WSGI test client does not undo the gzip of icdsite.compression.
    case.call_and_validate(headers={"Accept-Encoding": "identity"})
