"""gzip for responses that carry no secret.

BREACH recovers a secret from the compressed size of a response that reflects attacker-chosen input next
to it. Public pages hold no secret and are compressed (12-15 KB saved per page); a response that carries a
CSRF token or depends on the session (the admin, forms that post) is sent as it is.

A page from the page cache (conditions.caching) carries the compressed copy made when it was stored
(``precompress``): a cache hit is not compressed again.
"""

from django.middleware.gzip import GZipMiddleware, re_accepts_gzip
from django.utils.cache import patch_vary_headers
from django.utils.text import compress_string


def precompress(response):
    """Keep a compressed copy of ``response``'s content on it, made once, for every later copy of the page."""
    response.precompressed = (len(response.content), compress_string(response.content, max_random_bytes=100))
    return response


class BreachSafeGZipMiddleware(GZipMiddleware):
    def process_response(self, request, response):
        if request.META.get("CSRF_COOKIE_NEEDS_UPDATE") or "cookie" in response.get("Vary", "").lower():
            return response
        session = getattr(request, "session", None)
        if session is not None and session.accessed:
            return response
        size, compressed = getattr(response, "precompressed", (None, None))
        if compressed is None or response.streaming or size != len(response.content):
            return super().process_response(request, response)
        # What GZipMiddleware does, with the copy made once.
        if response.has_header("Content-Encoding"):
            return response
        patch_vary_headers(response, ("Accept-Encoding",))
        if not re_accepts_gzip.search(request.META.get("HTTP_ACCEPT_ENCODING", "")):
            return response
        response.content = compressed
        response.headers["Content-Length"] = str(len(compressed))
        etag = response.get("ETag")
        if etag and etag.startswith('"'):
            response.headers["ETag"] = "W/" + etag
        response.headers["Content-Encoding"] = "gzip"
        return response
