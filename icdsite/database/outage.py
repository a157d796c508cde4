"""What one process knows about its database being unreachable, and the quick probe that decides it.

Kept per database alias and per process: each app server finds out on its own,
and never waits on a server it knows is down for longer than one probe.
"""

from __future__ import annotations

import logging
import threading
import time

import psycopg

logger = logging.getLogger("icdsite.database")

# A probe never waits longer than this for the server to answer (a blackholed host, not a refused socket).
PROBE_TIMEOUT = 2


def standalone_params(conn_params: dict) -> dict:
    """Django's connection parameters for a plain psycopg connection of one's own: outside the pool, with
    psycopg's own cursors."""
    django_only = ("pool", "cursor_factory", "context", "prepare_threshold")
    return {key: value for key, value in conn_params.items() if key not in django_only}


def reachable(conn_params: dict, *, timeout: float = PROBE_TIMEOUT) -> bool:
    """Whether the server accepts a new connection now: one plain connection, outside any pool."""
    params = standalone_params(conn_params)
    try:
        with psycopg.connect(**params, connect_timeout=max(1, round(timeout)), autocommit=True) as probe:
            probe.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


class Outage:
    """Down or up, and when to probe again: while down, at most one probe per ``interval`` seconds."""

    def __init__(self, alias: str, interval: float):
        self.alias = alias
        self.interval = interval
        self.down_since: float | None = None
        self._next_probe = 0.0
        # One probe at a time: a request that comes while one runs waits for its answer (a probe
        # takes at most PROBE_TIMEOUT) instead of being told "down" just as the server comes back.
        self._probing = threading.Lock()

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def check(self, conn_params: dict, *, on_recovery=None) -> bool:
        """After a database error, or while down: probe (at most once per interval) and remember the answer.

        Returns whether the database is known to be down. ``on_recovery`` runs
        once, in the request whose probe finds the server back.
        """
        with self._probing:
            now = time.monotonic()
            if now >= self._next_probe:
                self._next_probe = now + self.interval
                if reachable(conn_params):
                    if self.down:
                        logger.warning(
                            "Database %r reachable again after %.1f s.", self.alias, now - self.down_since
                        )
                        self.down_since = None
                        if on_recovery is not None:
                            on_recovery()
                elif not self.down:
                    self.down_since = now
                    logger.warning("Database %r unreachable: answering 503 until it is back.", self.alias)
        return self.down


_outages: dict[str, Outage] = {}
_outages_lock = threading.Lock()


def outage_for(alias: str, interval: float) -> Outage:
    with _outages_lock:
        return _outages.setdefault(alias, Outage(alias, interval))
