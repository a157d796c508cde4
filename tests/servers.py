"""Start the project's own servers (runserver, `make serve`) against the test database, for tests that need a
real server process: each gets a free port and the test database's URL, and is stopped with its children."""

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from django.conf import settings
from django.db import connection

BASE_DIR = Path(__file__).resolve().parent.parent
ARTIFACTS = BASE_DIR / "test-artifacts"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url_for(application_name):
    """The URL of the test database (the one pytest-django created), tagged so pg_stat_activity can count it."""
    parts = urllib.parse.urlsplit(settings.DATABASE_URL)
    query = dict(urllib.parse.parse_qsl(parts.query))
    query["application_name"] = application_name
    path = "/" + connection.settings_dict["NAME"]
    return urllib.parse.urlunsplit(parts._replace(path=path, query=urllib.parse.urlencode(query)))


def direct_connection():
    """A psycopg connection of our own to the test database, in autocommit: usable beside Playwright's event loop
    (where Django refuses ORM calls), and reading live statistics instead of a transaction's snapshot."""
    import psycopg

    from icdsite.database.outage import standalone_params

    return psycopg.connect(**standalone_params(connection.get_connection_params()), autocommit=True)


def get(url, headers=None, timeout=30):
    """(status, headers, body) of a GET, without following redirects and without raising on 4xx/5xx."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@contextlib.contextmanager
def running(command, *, port, env, ready_path="/robots.txt", timeout=120):
    """Run ``command`` (its own process group) until the block ends; yields the base URL once it answers."""
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / f"server-{port}.log", "w")  # noqa: SIM115 (closed in finally)
    process = subprocess.Popen(
        command,
        cwd=BASE_DIR,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command} exited with {process.returncode} before answering")
            try:
                get(base + ready_path, timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        yield base
    finally:
        stop_group(process)
        log.close()


def stop_group(process, timeout=30):
    """Stop the process and everything it started (make's gunicorn and its workers), and wait for all of them:
    a worker still holding a connection would keep the test database from being dropped."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is None:
            time.sleep(0.1)
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        time.sleep(0.1)
    process.wait()


def nginx_config(folder, *, port, app_port, media, extra="", worker_connections=1024):
    """deploy/nginx.conf, with its listen port, upstream, cache and media paths pointed here, inside a main
    configuration whose pid, logs and temporary files all stay in ``folder``; ``extra`` adds server blocks.

    Returns the main configuration's path: run ``nginx -p folder -c <it>``. The tests and bench/ share it.
    """
    folder = Path(folder)
    site = (BASE_DIR / "deploy" / "nginx.conf").read_text()
    for shipped, here in (
        ("listen 80;", f"listen 127.0.0.1:{port};"),
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{app_port};"),
        ("/var/cache/nginx/icdsite", str(folder / "cache")),
        ("/srv/icdsite/media/", str(media).rstrip("/") + "/"),
    ):
        if shipped not in site:
            raise ValueError(f"deploy/nginx.conf no longer holds {shipped!r}")
        site = site.replace(shipped, here)
    (folder / "icdsite.conf").write_text(site)
    main = folder / "nginx.conf"
    main.write_text(
        f"""daemon off;
{"user root;" if os.geteuid() == 0 else ""}
worker_processes auto;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections {worker_connections}; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
{extra}
    include {folder}/icdsite.conf;
}}
"""
    )
    return main
