"""The content version, known in each process without a query per request.

Every write to what public pages show bumps the content version and notifies channel ``CHANNEL`` with the new
number when it commits (migrations 0011 and 0020). Each app process holds one extra connection to the primary
that listens for it (a daemon thread, started by the first request that asks for the version). While that
connection listens, the version last read stays trusted until a notification arrives, or until the next
scheduled article's publication time; then the next request reads it again. A process that is not listening
(the thread not started yet, its connection lost and not back yet) reads the version on every request, as
without the watch, so a lost notification can never leave a page stale: the connection is replaced within
``RECONNECT_SECONDS`` and the version read afresh.

The number a notification carries guards the replica: a version read from a replica that has not yet
replayed the change is older than the notified number, and is not trusted (read again on the next request)
until the replica catches up.

Off under DEBUG (the development server and the tests, whose writes never commit), on in production:
``CONTENT_VERSION_WATCH``.
"""

import logging
import os
import threading
from datetime import datetime

from django.db import connections
from django.utils import timezone

from icdsite.database.outage import standalone_params

logger = logging.getLogger(__name__)

CHANNEL = "icdsite_content_version"  # as in migration 0020
RECONNECT_SECONDS = 0.5
CHECK_SECONDS = 30  # an idle listening connection is checked this often (a silently dead network)


class VersionWatch:
    def __init__(self, alias: str = "default", check_seconds: float = CHECK_SECONDS):
        self.alias = alias
        self.check_seconds = check_seconds
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._known = None  # the trusted version
        self._until: datetime | None = None  # trusted until then (the next scheduled publication)
        self._wanted = 0  # the least number a trusted version may have (the last notified)
        self._generation = 0  # counts notifications and connection changes
        self._listening = False
        self._pid = None

    # --- Requests ------------------------------------------------------------
    def current(self, read):
        """The version: the trusted one, or ``read()`` -> (version, next publication time) and trust it if it may."""
        self._start()
        with self._lock:
            known, until, generation = self._known, self._until, self._generation
        if known is not None and (until is None or timezone.now() < until):
            return known
        version, next_due = read()
        with self._lock:
            if self._listening and generation == self._generation and version.number >= self._wanted:
                self._known, self._until = version, next_due
        return version

    @property
    def listening(self) -> bool:
        return self._listening

    def stop(self):
        """Stop listening (within ``check_seconds``); the version is read per request from then on."""
        self._stopping.set()

    # --- The listening thread ---------------------------------------------------
    def _start(self):
        pid = os.getpid()
        if self._pid == pid or self._stopping.is_set():
            return
        with self._lock:
            if self._pid == pid:
                return
            # A forked process (gunicorn's workers) starts its own thread: the parent's did not follow it.
            self._pid, self._listening, self._known = pid, False, None
        threading.Thread(target=self._run, name="content-version-watch", daemon=True).start()

    def _changed(self, number: int):
        with self._lock:
            self._wanted = number
            self._known = None
            self._generation += 1

    def _set_listening(self, listening: bool):
        with self._lock:
            self._listening = listening
            self._known = None  # notifications may have been missed in between
            self._generation += 1

    def _run(self):
        while not self._stopping.is_set():
            try:
                with self._connect() as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._set_listening(True)
                    while not self._stopping.is_set():
                        for notify in conn.notifies(timeout=self.check_seconds):
                            self._changed(_number(notify.payload))
                        conn.execute("SELECT 1")
            except Exception as error:  # any failure: read per request until listening again
                if self._listening:
                    logger.warning("The content version watch lost its connection: %s", error)
            finally:
                self._set_listening(False)
            self._stopping.wait(RECONNECT_SECONDS)

    def _connect(self):
        import psycopg

        params = standalone_params(connections[self.alias].get_connection_params())
        name = params.get("application_name") or "icdsite"
        params["application_name"] = f"{name} (version watch)"
        params.setdefault("connect_timeout", 5)
        params.setdefault("keepalives_idle", 30)
        return psycopg.connect(**params, autocommit=True)


def _number(payload: str) -> int:
    try:
        return int(payload)
    except ValueError:
        return 0


WATCH = VersionWatch()
