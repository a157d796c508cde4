"""Reads of public pages from a read replica, everything else from the primary (``DATABASE_REPLICA_URL``).

The public site only reads (GET and HEAD outside the admin), so those
requests read from the replica; the admin, every write (saved sessions, an
import, a publication) and anything outside a request (commands, the shell)
use the primary, so an editor always sees what they just saved. A replica
found unreachable is skipped until it answers again.
"""

from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

from icdsite.database.outage import outage_for

REPLICA = "replica"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

_public_read = ContextVar("public_read", default=False)


def reads_from_replica(request) -> bool:
    """Whether a request may read from the replica: a public read, outside the admin."""
    return request.method in SAFE_METHODS and not request.path.startswith(f"/{settings.ADMIN_PATH}")


class ReplicaMiddleware:
    """Marks public reads for the router for the length of the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _public_read.set(reads_from_replica(request))
        try:
            return self.get_response(request)
        finally:
            _public_read.reset(token)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if _public_read.get() and not outage_for(REPLICA, settings.DATABASE_PROBE_INTERVAL).down:
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica holds the primary's rows

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS
