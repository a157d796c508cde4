"""The pages that say who runs icdsite and how: About, editorial policy, privacy, and contact (report an error).

An error report is the only thing a visitor can send (stored by ``services.error_report_create``).
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Code, ErrorReport


class ErrorReportForm(forms.ModelForm):
    # A field people never see: a bot that fills in every input gives itself away.
    website = forms.CharField(required=False, label=_("Leave this empty"))

    class Meta:
        model = ErrorReport
        fields = ["page", "message", "email"]
        labels = {
            "page": _("Page address (optional)"),
            "email": _("Your email, if you want a reply (optional)"),
        }
        widgets = {"message": forms.Textarea(attrs={"rows": 6, "maxlength": 2000})}

    def clean_page(self):
        # Only an address on this site: the report is about one of our pages, never a link to elsewhere.
        page = self.cleaned_data["page"].strip()
        if page and not page.startswith("/"):
            raise forms.ValidationError(_("Give the address of a page on this site, starting with /."))
        return page

    def is_spam(self):
        return bool(self.cleaned_data.get("website"))


def data_counts():
    """How many codes the imported release holds, for the About page."""
    codes = Code.objects.all()
    return {"codes": codes.count(), "billable": codes.filter(billable=True).count()}
