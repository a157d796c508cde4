"""gunicorn settings for `make serve` and production, read from the environment.

Workers x threads is the most requests served at once. Each worker's pool holds as many PostgreSQL
connections as it has threads, plus one that listens for content changes (conditions.version_watch):
the site opens at most workers x (threads + 1) connections.
"""

import multiprocessing
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# Measured on 2 cores (bench/serve_bench.py): the app is CPU-bound, so two processes per core
# keep the cores busy while one waits on PostgreSQL; a second thread per worker overlaps that wait.
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", 2))
worker_class = "gthread" if threads > 1 else "sync"
# One pooled connection per thread, plus the listening one: the bound is workers x (threads + 1).
os.environ.setdefault("DB_POOL_MAX_SIZE", str(threads))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 20
keepalive = 5
# Load the app once in the master: a broken settings module stops the start instead of
# looping workers; no database connection is opened before the workers fork.
preload_app = True
# The app writes one JSON line per request itself (icdsite.middleware.RequestLogMiddleware).
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Requests come from a reverse proxy on this machine (deploy/nginx.conf) or directly.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# No runtime control socket: several servers may run on one machine, and nothing here uses gunicornc.
control_socket_disable = True


def when_ready(server):
    """After the app is loaded in the master, before the workers fork: collect once, then freeze what is
    left (Django, the settings, the URL patterns) out of the collector's reach. A worker's full
    collections then look only at what it made itself (its kept answers): about 60 ms each when they
    walked the whole inherited heap, a pause some request waits for. Frozen pages also stay shared
    between the workers (Python's documentation, gc.freeze)."""
    import gc

    gc.collect()
    gc.freeze()
