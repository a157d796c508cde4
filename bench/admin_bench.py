"""Time the editors' admin over the full code set: code list, code search, code autocomplete, article list.

Runs against the development database (`make data` first) inside a transaction that
is rolled back, so it leaves nothing behind. Prints the median of 20 requests each.
Run with `.venv/bin/python bench/admin_bench.py`.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icdsite.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

from conditions.models import Code  # noqa: E402

ROUNDS = 20
CASES = [
    ("code list", reverse("admin:conditions_code_changelist"), {}),
    ("code search 'M61'", reverse("admin:conditions_code_changelist"), {"q": "M61"}),
    (
        "code search 'fracture of femur'",
        reverse("admin:conditions_code_changelist"),
        {"q": "fracture of femur"},
    ),
    (
        "autocomplete 'e11'",
        reverse("admin:autocomplete"),
        {"app_label": "conditions", "model_name": "article", "field_name": "code", "term": "e11"},
    ),
    (
        "autocomplete 'asthma'",
        reverse("admin:autocomplete"),
        {"app_label": "conditions", "model_name": "article", "field_name": "code", "term": "asthma"},
    ),
    ("article list", reverse("admin:conditions_article_changelist"), {}),
]


def main():
    print(f"{Code.objects.count()} codes in the database; median of {ROUNDS} requests")
    with transaction.atomic():
        user = get_user_model().objects.create_superuser("bench-admin", password=None)
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        for label, url, params in CASES:
            timings = []
            for _ in range(ROUNDS):
                with CaptureQueriesContext(connection) as queries:
                    start = time.perf_counter()
                    response = client.get(url, params)
                    timings.append(time.perf_counter() - start)
                assert response.status_code == 200, (label, response.status_code)
            print(f"  {label:34s} {statistics.median(timings) * 1000:7.1f} ms  {len(queries):2d} queries")
        transaction.set_rollback(True)


if __name__ == "__main__":
    main()
