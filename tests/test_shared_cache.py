"""Several app servers share one cache through CACHE_URL: a page one server renders, another serves from a real
Redis (started here from Debian's redis-server; `make test` installs it when missing)."""

import contextlib
import shutil
import subprocess
import time

import pytest

from .servers import database_url_for, direct_connection, free_port, get, running, stop_group

REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"


@pytest.fixture(scope="module")
def redis_url():
    if not shutil.which("redis-server"):
        from .browser.conftest import in_ci

        message = "redis-server is missing: `make services` installs Debian's redis-server"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    import redis

    port = free_port()
    process = subprocess.Popen(
        [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(redis.ConnectionError):
                if client.ping():
                    break
            assert time.monotonic() < deadline, "redis-server did not answer"
            time.sleep(0.1)
        yield url
    finally:
        stop_group(process)


def test_two_app_servers_share_pages_through_redis(redis_url, django_db_setup, django_db_blocker):
    import redis

    with django_db_blocker.unblock():
        database_url = database_url_for("icdsite-test-shared-cache")
    env = {"DATABASE_URL": database_url, "DEBUG": "1", "CACHE_URL": redis_url}
    ports = free_port(), free_port()
    with contextlib.ExitStack() as stack:
        first, second = (
            stack.enter_context(
                running(
                    [".venv/bin/python", "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
                    port=port,
                    env=env,
                )
            )
            for port in ports
        )
        # Behind one load balancer both servers see the same site address.
        site = {"Host": "localhost"}
        status, headers, page = get(first + "/codes/M61.2/", headers=site)
        assert (status, headers["X-Cache"]) == (200, "miss")
        assert redis.Redis.from_url(redis_url).keys("icdsite:*:icdsite:page:*")
        # The other server did not render it: it comes from Redis.
        status, headers, again = get(second + "/codes/M61.2/", headers=site)
        assert (status, headers["X-Cache"], again) == (200, "hit", page)

        # A change committed anywhere (here: the version bumped as a publication does) reaches both servers.
        with direct_connection() as conn:
            conn.execute(
                "INSERT INTO conditions_contentversion (id, number, changed_at) VALUES (1, 2, clock_timestamp()) "
                "ON CONFLICT (id) DO UPDATE SET number = conditions_contentversion.number + 1, "
                "changed_at = clock_timestamp()"
            )
        assert get(second + "/codes/M61.2/", headers=site)[1]["X-Cache"] == "miss"
        assert get(first + "/codes/M61.2/", headers=site)[1]["X-Cache"] == "hit"
