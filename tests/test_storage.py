"""App servers keep no state of their own: sessions live in the database and, with MEDIA_S3_BUCKET set, uploads
go to an S3-compatible bucket through django-storages (settings read in a fresh process, as a server would)."""

import json
import os
import subprocess
import sys

from django.conf import settings

from .servers import BASE_DIR

SHOW_STORAGE = """
import json, django
django.setup()
from django.conf import settings
from django.core.files.storage import storages
default_storage = storages["default"]
print(json.dumps({
    "backend": type(default_storage).__module__ + "." + type(default_storage).__name__,
    "bucket": default_storage.bucket_name,
    "endpoint": default_storage.endpoint_url,
    "url": default_storage.url("illustrations/ab/cd.png"),
    "sessions": settings.SESSION_ENGINE,
}))
"""


def test_media_go_to_an_s3_bucket_when_configured():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "icdsite.settings",
        "DEBUG": "1",
        "MEDIA_S3_BUCKET": "icdsite-media",
        "MEDIA_S3_ENDPOINT_URL": "http://127.0.0.1:8109",
        "MEDIA_S3_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test-only",
        "AWS_SECRET_ACCESS_KEY": "test-only",
    }
    result = subprocess.run(
        [sys.executable, "-c", SHOW_STORAGE],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    shown = json.loads(result.stdout.strip().splitlines()[-1])
    assert shown["backend"] == "storages.backends.s3.S3Storage"
    assert (shown["bucket"], shown["endpoint"]) == ("icdsite-media", "http://127.0.0.1:8109")
    # Public, unsigned URLs (a CDN can cache them).
    assert shown["url"] == "http://127.0.0.1:8109/icdsite-media/illustrations/ab/cd.png"
    assert shown["sessions"] == "django.contrib.sessions.backends.db"


def test_without_a_bucket_media_stay_in_media_root():
    assert settings.STORAGES["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"
