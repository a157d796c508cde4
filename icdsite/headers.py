"""Security headers Django's SecurityMiddleware and django-csp do not set, on every response."""

from django.conf import settings


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.permissions_policy = ", ".join(f"{feature}=()" for feature in settings.PERMISSIONS_POLICY_DENY)

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", self.permissions_policy)
        response.setdefault("Cross-Origin-Resource-Policy", settings.CROSS_ORIGIN_RESOURCE_POLICY)
        # gunicorn names itself without a version; Django's development server would add
        # "WSGIServer/0.2 CPython/3.11.7" when the response carries no Server header.
        if not request.META.get("SERVER_SOFTWARE", "").startswith("gunicorn"):
            response["Server"] = "icdsite"
        return response
