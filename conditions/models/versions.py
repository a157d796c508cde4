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


class ImportState(models.Model):
    """What an import last wrote a data set from, so the next import can leave unchanged tables alone.

    ``sources`` digests everything the rows are derived from; ``contents`` digests the rows as written,
    so an import that finds the tables changed or emptied since (a damaged database) writes them again.
    """

    name = models.CharField(_("data set"), max_length=32, primary_key=True)
    sources = models.CharField(_("digest of the sources"), max_length=64)
    contents = models.TextField(_("digest of the rows written"))
    written_at = models.DateTimeField(_("written at"))

    class Meta:
        verbose_name = _("import state")

    def __str__(self):
        return f"{self.name} ({self.written_at:%Y-%m-%d %H:%M:%S})"
