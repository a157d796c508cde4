"""Settings for icdsite, read from the environment.

Development defaults apply only while DEBUG is on; with DEBUG off, SECRET_KEY
and ALLOWED_HOSTS must be set and the deploy checks pass.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# --- Core -------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-used-with-DEBUG-on"  # noqa: S105 (DEBUG only)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "icdsite.apps.EditorsAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.sitemaps",
    "django_filters",
    "simple_history",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "corsheaders",
    "csp",
    "conditions",
]

MIDDLEWARE = [
    # Outermost: times every request and writes its JSON log line (icdsite.request_log).
    "icdsite.request_log.RequestLogMiddleware",
    "icdsite.headers.SecurityHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    # Outside everything that renders: compresses public pages, never one with a CSRF token or session.
    "icdsite.compression.BreachSafeGZipMiddleware",
    # Before the rate limit, so that web apps on other sites can read its 429 too.
    "corsheaders.middleware.CorsMiddleware",
    "icdsite.rate_limit.RateLimitMiddleware",
    # A 503 (page, or JSON under /api/) instead of a 500 while the database is unreachable; inside the
    # header middlewares above, so the 503 carries the same security headers as any page.
    "icdsite.unavailable.DatabaseUnavailableMiddleware",
    # Public reads go to DATABASE_REPLICA_URL when it is set (a no-op without it).
    "icdsite.routers.ReplicaMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "icdsite.session_timeout.SessionTimeoutMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "conditions.middleware.EditorTimeZoneMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into a 429 answer.
    "axes.middleware.AxesMiddleware",
]

if not DEBUG:  # in development runserver and the test live server serve static files themselves
    # Static files get the security headers too (the middleware above), then skip the rest.
    MIDDLEWARE.insert(
        MIDDLEWARE.index("csp.middleware.CSPMiddleware") + 1, "whitenoise.middleware.WhiteNoiseMiddleware"
    )

ROOT_URLCONF = "icdsite.urls"
WSGI_APPLICATION = "icdsite.wsgi.application"

# The public site's templates are Jinja2 (templates/jinja2/, environment in icdsite/jinja2.py): several times
# cheaper to render than Django's. The admin, and what Django's own apps render, keep Django's templates
# (templates/ outside jinja2/, and the apps' own). Neither engine finds the other's files.
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates" / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "icdsite.jinja2.environment"},
    },
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
# DATABASE_URL selects a PostgreSQL server; without it, the checkout's own
# embedded PostgreSQL (data in .pgdata/) is started or reused.
DATABASE_URL = os.environ.get("DATABASE_URL")
if not DATABASE_URL:
    from icdsite.embedded_db import database_url

    DATABASE_URL = database_url()
# Every process holds a bounded psycopg pool: at most DB_POOL_MAX_SIZE connections, whatever the
# number of request threads (runserver starts one per request). A request borrows a connection and
# gives it back at its end (CONN_MAX_AGE=0 with a pool); a request that finds the pool busy waits up to
# DB_POOL_TIMEOUT seconds. The pool checks a connection idle a while before lending it (CONN_HEALTH_CHECKS).
# PostgreSQL sees at most (processes x DB_POOL_MAX_SIZE) connections from the site.
DB_POOL_MIN_SIZE = int(os.environ.get("DB_POOL_MIN_SIZE", 1))
DB_POOL_MAX_SIZE = int(os.environ.get("DB_POOL_MAX_SIZE", 4))
DB_POOL_TIMEOUT = float(os.environ.get("DB_POOL_TIMEOUT", 10))
# A connection given back to the pool within this many seconds is lent again without the check (a round trip
# per request); one idle longer is checked first (icdsite/database/base.py, RecentUse).
DB_POOL_CHECK_IDLE_SECONDS = float(os.environ.get("DB_POOL_CHECK_IDLE_SECONDS", 2))
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0, conn_health_checks=True)}
DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
    "min_size": min(DB_POOL_MIN_SIZE, DB_POOL_MAX_SIZE),
    "max_size": DB_POOL_MAX_SIZE,
    "timeout": DB_POOL_TIMEOUT,
    "max_idle": 300,
}
if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
    raise ImproperlyConfigured("icdsite runs on PostgreSQL only: DATABASE_URL must be postgres://...")
# Django's PostgreSQL backend, failing fast while the server is unreachable and recovering by itself
# (icdsite/database/base.py); requests that hit a database error get a 503 (icdsite/unavailable.py)
# with Retry-After: DATABASE_RETRY_AFTER seconds. While down, each process probes the server at most
# once per DATABASE_PROBE_INTERVAL seconds.
DATABASES["default"]["ENGINE"] = "icdsite.database"
DATABASE_RETRY_AFTER = int(os.environ.get("DATABASE_RETRY_AFTER", 10))
DATABASE_PROBE_INTERVAL = float(os.environ.get("DATABASE_PROBE_INTERVAL", 1))
# A streaming replica of the primary for the public site's reads (icdsite/routers.py): public GETs
# read from it, the admin, writes and commands use the primary. Same pool settings per process.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL, conn_max_age=0, conn_health_checks=True
    )
    DATABASES["replica"]["ENGINE"] = "icdsite.database"
    DATABASES["replica"].setdefault("OPTIONS", {})["pool"] = dict(DATABASES["default"]["OPTIONS"]["pool"])
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}  # tests read the replica through the test database
    DATABASE_ROUTERS = ["icdsite.routers.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Caching -----------------------------------------------------------------
# CACHE_URL: redis://host:6379/0 shares the cache between app servers; without it each process keeps
# its own (in memory). Public pages are cached by content version (conditions.caching).
CACHE_URL = os.environ.get("CACHE_URL", "")
if CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "icdsite"),
        }
    }
elif CACHE_URL:
    raise ImproperlyConfigured("CACHE_URL must be a redis://, rediss:// or unix:// URL.")
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": int(os.environ.get("CACHE_MAX_ENTRIES", 2000))},
        }
    }
PAGE_CACHE_ALIAS = "default"
PAGE_CACHE_SECONDS = int(os.environ.get("PAGE_CACHE_SECONDS", 3600))  # 0 turns the page cache off
PAGE_MAX_AGE = int(os.environ.get("PAGE_MAX_AGE", 60))  # browsers
PAGE_SHARED_MAX_AGE = int(os.environ.get("PAGE_SHARED_MAX_AGE", 300))  # CDNs and reverse proxies (s-maxage)
SITEMAP_CACHE_SECONDS = int(os.environ.get("SITEMAP_CACHE_SECONDS", 3600))
# Each process listens for the content version's change notifications (one more PostgreSQL connection per
# process) instead of reading the version on every request (conditions.version_watch). Off under DEBUG: the
# tests' writes never commit, so they would never notify.
CONTENT_VERSION_WATCH = env_bool("CONTENT_VERSION_WATCH", not DEBUG)

# --- Auth -------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Editors and publishers sign in to the admin only; its path is configurable so
# it is not where every scanner looks.
ADMIN_PATH = os.environ.get("ADMIN_PATH", "admin/").strip("/") + "/"
# A login lasts SESSION_COOKIE_AGE at most, and ends after SESSION_IDLE_TIMEOUT without a request.
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", 8 * 60 * 60))
SESSION_IDLE_TIMEOUT = int(os.environ.get("SESSION_IDLE_TIMEOUT", 30 * 60))

# django-axes (icdsite.login_lockout): a username at one address is locked out for a short
# while after AXES_FAILURE_LIMIT failures, an address after AXES_ADDRESS_FAILURE_LIMIT failures
# over any usernames. The address is the client's (icdsite.client_address, TRUSTED_PROXIES).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "icdsite.login_lockout.LoginLockoutHandler"
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", 5))
AXES_ADDRESS_FAILURE_LIMIT = int(os.environ.get("AXES_ADDRESS_FAILURE_LIMIT", 20))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", 15)))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Trying again while locked out does not extend the lockout (a real editor would).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "icdsite.client_address.client_address"

# Two-factor sign-in (icdsite.two_factor): required of publishers and superusers when on.
ADMIN_REQUIRE_2FA = env_bool("ADMIN_REQUIRE_2FA", not DEBUG)
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "icdsite")

# --- Editor content ---------------------------------------------------------
# Reverting goes through conditions.services (it also restores the sources and
# keeps search current), not through django-simple-history's own form.
SIMPLE_HISTORY_REVERT_DISABLED = True
ILLUSTRATION_MAX_BYTES = int(os.environ.get("ILLUSTRATION_MAX_BYTES", 5 * 1024 * 1024))
ILLUSTRATION_MAX_PIXELS = int(os.environ.get("ILLUSTRATION_MAX_PIXELS", 25_000_000))

# --- Email -----------------------------------------------------------------
# Workflow notifications (conditions.notifications). Development prints them to the console;
# production sends through the SMTP server named here (EMAIL_HOST is required with DEBUG off).
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "icdsite <editors@icdsite.invalid>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if DEBUG:
    EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
else:
    EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
    EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", 587))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
    EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", 10))

# Large enough that an oversized article body reaches the form and gets a clear error
# (the body limit is 100 KB, conditions.markdown.BODY_MAX_BYTES), not a bare 400.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Internationalisation ---------------------------------------------------
# The site and its admin are written in English only: no translation machinery per request. Strings stay
# marked for translation; dates and numbers keep the en-us formats (checked the same with it on and off).
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# --- Static and media files -------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Uploads live in MEDIA_ROOT, or with MEDIA_S3_BUCKET set in an S3-compatible bucket (django-storages),
# so that app servers keep nothing of their own. Credentials come from boto3's usual sources
# (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the machine's role), never from the repository.
MEDIA_S3_BUCKET = os.environ.get("MEDIA_S3_BUCKET")
if MEDIA_S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": MEDIA_S3_BUCKET,
            "endpoint_url": os.environ.get("MEDIA_S3_ENDPOINT_URL") or None,  # MinIO, R2, Spaces, ...
            "region_name": os.environ.get("MEDIA_S3_REGION") or None,
            "custom_domain": os.environ.get("MEDIA_S3_CUSTOM_DOMAIN") or None,  # the CDN's host for media
            "querystring_auth": False,  # illustrations are public: plain, cacheable URLs
            "file_overwrite": False,  # names are random already; never replace a stored file
            "default_acl": None,
        },
    }

# --- Security ---------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    # Turning these off is the operator's choice, not an oversight for check --deploy to report.
    SILENCED_SYSTEM_CHECKS = [
        check
        for check, on in (
            ("security.W005", SECURE_HSTS_INCLUDE_SUBDOMAINS),
            ("security.W021", SECURE_HSTS_PRELOAD),
        )
        if not on
    ]

# --- Reverse proxy ------------------------------------------------------------
# Addresses or networks of our own proxies (e.g. "10.0.0.0/8,127.0.0.1"): only from them is
# X-Forwarded-For believed for the client address (login lockouts, rate limits).
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
# The header a proxy sets to say the request came over HTTPS, e.g. "X-Forwarded-Proto";
# without it no such header is believed (a client could send one itself).
if os.environ.get("SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = (
        "HTTP_" + os.environ["SECURE_PROXY_SSL_HEADER"].strip().upper().replace("-", "_"),
        "https",
    )

# --- Public API ---------------------------------------------------------------
# Web apps on any site may read the API from a browser (GET only, no cookies); nothing else of
# the site is shared across origins.
CORS_ALLOW_ALL_ORIGINS = True
CORS_URLS_REGEX = r"^/api/"
CORS_ALLOW_METHODS = ["GET", "OPTIONS"]
CORS_ALLOW_CREDENTIALS = False
# Requests per client address (icdsite.rate_limit), counted in the cache: (bucket, path prefix,
# requests, seconds). The search box's suggestions count as API requests.
RATE_LIMITS = [
    ("api", "/api/", int(os.environ.get("API_RATE_LIMIT_PER_MINUTE", 300)), 60),
    ("search", "/search/", int(os.environ.get("SEARCH_RATE_LIMIT_PER_MINUTE", 60)), 60),
]

# --- Security headers (every response: pages, API, admin, errors, static files) ---
# Content-Security-Policy (django-csp 4): every script and style is a file of this site; no inline
# script, style element or style attribute, no eval, no plugin, no framing, forms post only here.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}
# Permissions-Policy: features no page of the site uses, switched off for it and anything it embeds.
PERMISSIONS_POLICY_DENY = [
    "accelerometer",
    "camera",
    "geolocation",
    "gyroscope",
    "magnetometer",
    "microphone",
    "payment",
    "usb",
]
CROSS_ORIGIN_RESOURCE_POLICY = os.environ.get("CROSS_ORIGIN_RESOURCE_POLICY", "same-origin")
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Load balancers probe over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# --- Logging ----------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"message": {"format": "%(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "json_lines": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "message",
        },
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    "loggers": {
        # One JSON line per request on stdout (icdsite.request_log); REQUEST_LOG=0 turns it off.
        "icdsite.request": {
            "handlers": ["json_lines"],
            "level": "INFO" if env_bool("REQUEST_LOG", True) else "WARNING",
            "propagate": False,
        },
    },
}
