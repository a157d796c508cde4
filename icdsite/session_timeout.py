"""Signs a user out after SESSION_IDLE_TIMEOUT seconds without a request, and SESSION_COOKIE_AGE after signing in.

Recording activity saves the session, and every save moves Django's own expiry forward, so the
absolute limit is kept here too, from the time of signing in.
"""

import time

from django.conf import settings
from django.contrib.auth import logout, user_logged_in
from django.dispatch import receiver

SIGNED_IN_KEY = "_signed_in_at"
LAST_SEEN_KEY = "_last_seen_at"
# Write the activity time at most once a minute, not on every request.
LAST_SEEN_PRECISION = 60


@receiver(user_logged_in, dispatch_uid="session_timeout_stamp")
def stamp_sign_in(sender, request, user, **kwargs):
    request.session[SIGNED_IN_KEY] = request.session[LAST_SEEN_KEY] = int(time.time())


class SessionTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Only requests with a session cookie: touching the session of the others would add
        # "Vary: Cookie" to every public page.
        if settings.SESSION_COOKIE_NAME in request.COOKIES and request.user.is_authenticated:
            self.check(request)
        return self.get_response(request)

    def check(self, request):
        session, now = request.session, int(time.time())
        if SIGNED_IN_KEY not in session:  # signed in before these limits existed
            session[SIGNED_IN_KEY] = session[LAST_SEEN_KEY] = now
        signed_in, last_seen = session[SIGNED_IN_KEY], session[LAST_SEEN_KEY]
        if now - last_seen > settings.SESSION_IDLE_TIMEOUT or now - signed_in > settings.SESSION_COOKIE_AGE:
            logout(request)
        elif now - last_seen >= LAST_SEEN_PRECISION:
            session[LAST_SEEN_KEY] = now
