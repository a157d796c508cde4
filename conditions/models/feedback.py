"""Error reports that visitors send from the contact page, for editors to read and mark handled."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ErrorReport(models.Model):
    page = models.CharField(
        _("page"), max_length=300, blank=True, help_text=_("The address the report is about.")
    )
    message = models.TextField(_("what is wrong"), max_length=2000)
    email = models.EmailField(_("email for a reply"), blank=True)
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)
    handled = models.BooleanField(_("handled"), default=False)

    class Meta:
        ordering = ["handled", "-created_at"]
        verbose_name = _("error report")
        verbose_name_plural = _("error reports")

    def __str__(self):
        return f"{self.page or 'site'}: {self.message[:60]}"
