"""What coders look up beside a code: MS-DRG severity, code-editor flags, HCC, the ICD-9-CM crosswalk and history.

All of it is official data from registry packages, written only by the import
(``conditions.loading.import_coding_data``) and read-only everywhere else.
"""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from .codes import Code


class CodeFacts(models.Model):
    """One FY2026 code's coding data, denormalised at import so a page reads it with the code."""

    class Severity(models.TextChoices):
        MCC = "mcc", _("MCC")
        CC = "cc", _("CC")

    code = models.OneToOneField(
        Code,
        models.DO_NOTHING,
        primary_key=True,
        db_column="code",
        # The tabular import replaces codes with raw SQL; these rows follow in the same import.
        db_constraint=False,
        related_name="facts",
    )
    severity = models.CharField(_("MS-DRG severity"), max_length=3, choices=Severity, blank=True)
    pdx_collection = models.CharField(
        _("CC exclusion PDX collection"),
        max_length=4,
        blank=True,
        help_text=_("Table 6K; blank: no exclusions."),
    )
    pdx_exclusion_count = models.PositiveIntegerField(_("principal diagnoses that exclude it"), default=0)
    mce_edits = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    mce_age_group = models.CharField(_("MCE age group"), max_length=10, blank=True)
    # A code can fall in more than one HCC of a model (E10.3553: V28 HCC 37 and 298).
    hcc_v28 = ArrayField(
        models.PositiveSmallIntegerField(), default=list, blank=True, verbose_name=_("CMS-HCC V28")
    )
    hcc_v24 = ArrayField(
        models.PositiveSmallIntegerField(), default=list, blank=True, verbose_name=_("CMS-HCC V24")
    )
    hcc_labels = models.JSONField(default=dict, blank=True, help_text=_('"V28 38" -> the HCC\'s label.'))
    chronic = models.CharField(_("chronic condition indicator"), max_length=1, blank=True)
    fiscal_years = ArrayField(models.PositiveSmallIntegerField(), default=list, blank=True)
    billable_years = ArrayField(models.PositiveSmallIntegerField(), default=list, blank=True)
    earlier_titles = models.JSONField(default=dict, blank=True)
    next_year_replaced_by = ArrayField(models.CharField(max_length=8), default=list, blank=True)
    # Codes the next release (FY2027) adds below this one (it is their nearest FY2026 level).
    next_year_adds = ArrayField(models.CharField(max_length=8), default=list, blank=True)
    to_icd9 = models.JSONField(_("GEM ICD-10-CM to ICD-9-CM"), default=list, blank=True)
    from_icd9 = models.JSONField(_("GEM ICD-9-CM to ICD-10-CM"), default=list, blank=True)

    class Meta:
        verbose_name = _("code facts")
        verbose_name_plural = _("code facts")
        indexes = [models.Index(fields=["severity"], name="facts_severity")]

    def __str__(self):
        return str(self.code_id)


class RetiredCode(models.Model):
    """A code of an earlier release that FY2026 no longer has, and where to go instead."""

    code = models.CharField(_("code"), max_length=8, primary_key=True)
    title = models.TextField(_("last title"))
    fiscal_years = ArrayField(models.PositiveSmallIntegerField(), default=list)
    billable_years = ArrayField(models.PositiveSmallIntegerField(), default=list, blank=True)
    earlier_titles = models.JSONField(default=dict, blank=True)
    replaced_by = ArrayField(models.CharField(max_length=8), default=list, blank=True)

    class Meta:
        verbose_name = _("retired code")
        verbose_name_plural = _("retired codes")

    def __str__(self):
        return f"{self.code} {self.title}"

    @property
    def last_year(self):
        return max(self.fiscal_years)


class Icd9Code(models.Model):
    """An ICD-9-CM diagnosis code (v32) and the ICD-10-CM codes the GEM maps it to."""

    code = models.CharField(_("ICD-9-CM code"), max_length=7, primary_key=True)
    title = models.TextField(_("title"))
    to_icd10 = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("ICD-9-CM code")
        verbose_name_plural = _("ICD-9-CM codes")

    def __str__(self):
        return f"{self.code} {self.title}"


class PdxCollection(models.Model):
    """A Table 6K PDX collection: principal diagnoses that keep a CC or MCC from counting."""

    number = models.CharField(_("number"), max_length=4, primary_key=True)
    codes = ArrayField(models.CharField(max_length=8))

    class Meta:
        verbose_name = _("PDX collection")
        verbose_name_plural = _("PDX collections")

    def __str__(self):
        return self.number


class NextYearCode(models.Model):
    """A code the next release (FY2027) adds, known from its code editor; no package publishes its title yet."""

    code = models.CharField(_("code"), max_length=8, primary_key=True)
    fiscal_year = models.PositiveSmallIntegerField(_("first fiscal year"))
    parent = models.CharField(
        _("nearest current level"),
        max_length=8,
        blank=True,
        help_text=_("The current code it will sit under; blank for a new category."),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("code of the next release")
        verbose_name_plural = _("codes of the next release")

    def __str__(self):
        return f"{self.code} (FY{self.fiscal_year})"
