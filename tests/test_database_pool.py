"""The connection pool's check before lending a connection (icdsite/database/base.py, RecentUse)."""

import time

import psycopg
import pytest
from django.db import connection
from psycopg_pool import ConnectionPool

from icdsite.database.base import RecentUse

from .servers import direct_connection

pytestmark = pytest.mark.django_db


def test_a_connection_given_back_moments_ago_is_not_checked_one_idle_longer_is():
    checks = RecentUse(seconds=0.3)
    with direct_connection() as conn, direct_connection() as other:
        pid = conn.info.backend_pid
        checks.check(conn)  # never given back: checked (and alive)
        checks.returned(conn)
        # PostgreSQL drops it just after: within the window it is lent unchecked (the request using it would
        # fail once, as it would have a moment later anyway)...
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
        time.sleep(0.05)
        checks.check(conn)
        # ... idle longer than the window, it is checked, and the pool replaces it.
        time.sleep(0.35)
        with pytest.raises(psycopg.OperationalError):
            checks.check(conn)


def test_the_site_pool_checks_a_connection_once_then_lends_it_unchecked_while_in_use(monkeypatch):
    # The test process itself connects without the pool (conftest): the site's backend builds one here, and
    # it lends and gives back connections as Django's backend does (get_new_connection, _close).
    from psycopg_pool.pool import ReturnConnection

    from icdsite.database.base import DatabaseWrapper

    checked, handed_off = [], []
    real = ConnectionPool.check_connection
    monkeypatch.setattr(
        ConnectionPool, "check_connection", staticmethod(lambda c: (checked.append(c), real(c)))
    )
    run_task = ConnectionPool.run_task
    monkeypatch.setattr(
        ConnectionPool,
        "run_task",
        lambda pool, task: (
            handed_off.append(task) if isinstance(task, ReturnConnection) else None,
            run_task(pool, task),
        ),
    )
    options = {**connection.settings_dict["OPTIONS"], "pool": {"min_size": 1, "max_size": 2}}
    site = DatabaseWrapper({**connection.settings_dict, "OPTIONS": options}, alias="pool_check_test")
    pool = site.pool

    def request():
        site.connection = used = site.get_new_connection(site.get_connection_params())
        used.execute("SELECT 1")
        site._close()
        return used

    try:
        pool.open(wait=True)
        for _ in range(20):
            request()
        # Each borrow came moments after the connection was given back: a connection is checked when first
        # lent, not again (the pool holds at most 2).
        assert len(checked) == len({id(c) for c in checked}) <= 2
        # Given back in the request's own thread: no hand-off to a pool thread at the end of each request.
        assert handed_off == []
        # Idle longer than the window: checked before it is lent.
        site_checks = pool._check.__self__
        assert isinstance(site_checks, RecentUse) and pool.recent_use is site_checks
        site_checks.seconds = 0.1
        time.sleep(0.15)
        assert request() is checked[-1]
    finally:
        site.close_pool()
