"""django-axes handler that also limits failed logins per client address (password spraying).

django-axes locks a username at one address out after AXES_FAILURE_LIMIT failures. One address
trying many usernames a few times each never reaches that, so this handler also counts the
failures of all usernames from the address and locks the address out at
AXES_ADDRESS_FAILURE_LIMIT. Both counts expire after AXES_COOLOFF_TIME.
"""

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum


class LoginLockoutHandler(AxesDatabaseHandler):
    def address_failures(self, request) -> int:
        attempts = AccessAttempt.objects.filter(
            ip_address=request.axes_ip_address, attempt_time__gte=get_cool_off_threshold(request)
        )
        return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0

    def get_failures(self, request, credentials=None) -> int:
        # django-axes compares this one number with AXES_FAILURE_LIMIT, so the address count is
        # put on that scale: it reaches the limit exactly when the address reaches its own.
        user_limit = get_failure_limit(request, credentials)
        address_scaled = self.address_failures(request) * user_limit // settings.AXES_ADDRESS_FAILURE_LIMIT
        return max(super().get_failures(request, credentials), address_scaled)
