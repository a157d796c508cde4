"""Django's PostgreSQL backend with outage handling: fail fast while the server is down, recover at once.

Without it, while PostgreSQL is stopped every request waits the whole pool
timeout for a connection, and after a restart the pool's exponential back-off
can keep the site failing for as long as the outage lasted. Here a failed
connection is followed by one quick probe; while the server is known down,
new connections fail at once (the HTTP layer, ``icdsite.unavailable``, turns
that into a 503) except for one probe per ``DATABASE_PROBE_INTERVAL``
seconds; the first probe that succeeds replaces the pool, so the site is
back within that interval, with no restart.
"""

import threading
import time
import weakref

from django.conf import settings
from django.db.backends.postgresql import base

from .outage import outage_for


class RecentUse:
    """The pool's check before lending a connection, skipped for one given back moments ago.

    Checking costs a round trip to PostgreSQL on every request (about 0.7 ms on 2 busy cores, more than
    some requests' own work); a connection that served a request within ``seconds`` is taken as alive, as
    connection pools commonly do. One idle longer is checked, and replaced if PostgreSQL has dropped it.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._lock = threading.Lock()
        self._returned = weakref.WeakKeyDictionary()

    def returned(self, connection) -> None:
        """A connection is being given back, in working order (called by ``DatabaseWrapper._close``, in the
        request's thread: the pool's ``reset`` hook would hand every return to a pool thread)."""
        with self._lock:
            self._returned[connection] = time.monotonic()

    def check(self, connection) -> None:
        """The pool's ``check``: raises if a connection not used lately no longer answers."""
        with self._lock:
            returned = self._returned.get(connection)
        if returned is None or time.monotonic() - returned >= self.seconds:
            from psycopg_pool import ConnectionPool

            ConnectionPool.check_connection(connection)


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self):
        """Django's pool (settings ``OPTIONS["pool"]``), checking before it lends a connection only when the
        connection has been idle (``RecentUse``, with ``CONN_HEALTH_CHECKS``)."""
        options = self.settings_dict["OPTIONS"].get("pool")
        if self.alias == base.NO_DB_ALIAS or not options:
            return None
        if self.alias not in self._connection_pools:
            from psycopg_pool import ConnectionPool

            kwargs = self.get_connection_params()
            kwargs["autocommit"] = True  # as Django's: it sets autocommit itself later
            checks = (
                RecentUse(settings.DB_POOL_CHECK_IDLE_SECONDS)
                if self.settings_dict["CONN_HEALTH_CHECKS"]
                else None
            )
            pool = ConnectionPool(
                kwargs=kwargs,
                open=False,
                configure=self._configure_connection,
                check=checks.check if checks else None,
                **({} if options is True else options),
            )
            pool.recent_use = checks
            # Threads starting at once may each build one: the first to set it wins, as in Django's.
            self._connection_pools.setdefault(self.alias, pool)
        return self._connection_pools[self.alias]

    def _close(self):
        # Stamped here rather than by the pool's ``reset`` hook: with a reset the pool returns every connection
        # through one of its threads, a hand-off between threads at the end of each request.
        recent_use = getattr(getattr(self.connection, "_pool", None), "recent_use", None)
        if recent_use is not None:
            recent_use.returned(self.connection)
        return super()._close()

    @property
    def outage(self):
        return outage_for(self.alias, settings.DATABASE_PROBE_INTERVAL)

    def get_new_connection(self, conn_params):
        outage = self.outage
        # Back: fresh connections at once, not after the old pool's back-off.
        if outage.down and outage.check(conn_params, on_recovery=self._replace_pool):
            raise self.Database.OperationalError(f"The database {self.alias!r} is unreachable.")
        try:
            return super().get_new_connection(conn_params)
        except self.Database.OperationalError:
            outage.check(conn_params)
            raise

    def notice_error(self) -> bool:
        """Called after a request failed on a database error: is the server down? (probes at most once per interval)"""
        params = self.get_connection_params()
        return self.outage.check(params)

    def _replace_pool(self) -> None:
        pool = self._connection_pools.pop(self.alias, None)
        if pool is not None:
            # Connections still lent out go back to the old pool, which closes them.
            pool.close(timeout=1)
