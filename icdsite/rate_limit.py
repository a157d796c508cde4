"""Requests per client address for the API and search, so one client cannot starve the rest.

Counted in Django's cache, in fixed windows: with CACHE_URL set that cache is shared by every
app server, otherwise each process counts alone. Over the limit the answer is 429 with
Retry-After, in JSON (HTML for a browser asking for a search page). IPv6 clients count per
/64 network, since one host can use any address of its /64.
"""

import ipaddress
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

from icdsite.client_address import client_address


def client_key(request) -> str:
    address = client_address(request)
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return address


def wait_seconds(bucket: str, client: str, requests: int, seconds: int) -> int:
    """Counts this request; 0 while within the limit, else the seconds until the window ends."""
    now = time.time()
    window = int(now // seconds)
    key = f"rate-limit:{bucket}:{client}:{window}"
    cache.add(key, 0, timeout=seconds + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=seconds + 1)
        count = 1
    if count <= requests:
        return 0
    return max(1, int((window + 1) * seconds - now + 0.999))


def too_many_requests(request, retry_after: int) -> HttpResponse:
    message = f"Too many requests from your address; try again in {retry_after} seconds."
    if not request.path_info.startswith("/api/") and "text/html" in request.headers.get("Accept", ""):
        response = HttpResponse(
            render_to_string("429.html", {"message": message}, request=request), status=429
        )
    else:
        response = JsonResponse({"error": message}, status=429, json_dumps_params={"ensure_ascii": False})
    response["Retry-After"] = str(retry_after)
    return response


class RateLimitMiddleware:
    """Applies settings.RATE_LIMITS: (bucket, path prefix, requests, seconds)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        for bucket, prefix, requests, seconds in settings.RATE_LIMITS:
            if request.path_info.startswith(prefix):
                retry_after = wait_seconds(bucket, client_key(request), requests, seconds)
                if retry_after:
                    return too_many_requests(request, retry_after)
                break
        return self.get_response(request)
