"""Admin pages show and read times in the editor's time zone (the browser's, sent in a cookie).

static/js/admin-timezone.js stores the browser's IANA zone name in the `tz` cookie on
every admin page (the login page included, so forms are in that zone from the first
one); times are stored in UTC either way. Public pages are not affected.
"""

import zoneinfo
from urllib.parse import unquote

from django.conf import settings
from django.utils import timezone

COOKIE = "tz"


def editor_time_zone(request):
    """The zone named by the request's cookie, or None when it is missing or not a real zone."""
    name = unquote(request.COOKIES.get(COOKIE, ""))
    if not name or len(name) > 64:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


class EditorTimeZoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.prefix = "/" + settings.ADMIN_PATH

    def __call__(self, request):
        zone = editor_time_zone(request) if request.path.startswith(self.prefix) else None
        if zone is None:
            return self.get_response(request)
        with timezone.override(zone):
            return self.get_response(request)
