"""The content version: one row whose number goes up with every change the public pages show."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ContentVersion(models.Model):
    """Bumped in the same transaction as an import or an article change (conditions.caching), so a page cached
    under the old number is never served after the change commits."""

    number = models.PositiveBigIntegerField(_("number"), default=1)
    changed_at = models.DateTimeField(_("changed at"))

    class Meta:
        verbose_name = _("content version")

    def __str__(self):
        return f"{self.number} ({self.changed_at:%Y-%m-%d %H:%M:%S})"
