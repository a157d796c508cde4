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

from django.conf import settings
from django.db.backends.postgresql import base

from .outage import outage_for


class DatabaseWrapper(base.DatabaseWrapper):
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
