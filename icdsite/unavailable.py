"""A 503 instead of a 500 while the database is unreachable: a friendly page, JSON under /api/, Retry-After.

Requests that need no database (cached or static answers) are served as
usual; a request that fails on a database error gets the 503, and the
backend (``icdsite.database``) makes the next ones fail fast until it is back.
"""

import logging
import sys

import psycopg
from django.conf import settings
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

logger = logging.getLogger("icdsite.database")

# Django wraps the driver's errors: a refused or broken connection and the pool's timeout are OperationalError.
# Not every path is wrapped: closing a server-side cursor (QuerySet.iterator()) on a connection the server
# just terminated raises psycopg's own error, so those count too.
UNAVAILABLE = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)


def unavailable_response(request) -> HttpResponse:
    """The 503 answer: JSON for the API, a page for people; never cached, with when to retry."""
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"error": "The service is briefly unavailable. Please retry shortly.", "status": 503}, status=503
        )
    else:
        # Rendered without the request: no context processor may need the database.
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(settings.DATABASE_RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    return response


def database_down() -> bool:
    """Whether a database this process uses is known (or, after a probe, found) to be unreachable."""
    return any(getattr(connections[alias], "notice_error", lambda: False)() for alias in connections.settings)


def _flag_unavailable(sender, request=None, **kwargs):
    # An error outside a view (another middleware, a response being rendered) reaches Django's
    # 500 handler; the middleware below swaps that answer for a 503.
    if request is not None and isinstance(sys.exc_info()[1], UNAVAILABLE):
        request.database_unavailable = True


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        got_request_exception.connect(_flag_unavailable, dispatch_uid="icdsite.unavailable")

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, "database_unavailable", False):
            database_down()
            return unavailable_response(request)
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, UNAVAILABLE):
            logger.warning("Database error on %s: %s", request.path, exception)
            database_down()
            return unavailable_response(request)
        return None
