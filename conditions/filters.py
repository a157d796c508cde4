"""django-filter FilterSets: the search results page's query and filters."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Code
from .pages import headings
from .search import Query


def chapter_choices():
    """Each chapter as (number, "Chapter 1: Certain infectious ..."), in official order."""
    return [(number, str(chapter)) for number, chapter in headings()[0].items()]


class CodeSearchFilter(django_filters.FilterSet):
    """The search box query (ranked through ``CodeQuerySet.search``) narrowed by chapter, billable, article, level,
    MS-DRG severity (CC, MCC) and CMS-HCC V28."""

    LEVELS = [
        (1, _("Category")),
        (2, _("2nd level")),
        (3, _("3rd level")),
        (4, _("4th level")),
        (5, _("5th level")),
    ]

    # MS-DRG severity of the FY2026 CC and MCC lists (CodeFacts.severity).
    SEVERITIES = [
        ("cc_or_mcc", _("CC or MCC")),
        ("mcc", _("MCC")),
        ("cc", _("CC")),
    ]

    q = django_filters.CharFilter(label=_("Search"), method="filter_search", widget=forms.HiddenInput)
    # Choices from the chapters held per content version: neither validating nor showing them reads the table.
    chapter = django_filters.ChoiceFilter(
        label=_("Chapter"), choices=chapter_choices, empty_label=_("All chapters")
    )
    billable = django_filters.BooleanFilter(
        label=_("Billable codes only"), method="filter_true", widget=forms.CheckboxInput
    )
    has_article = django_filters.BooleanFilter(
        label=_("With an article"), method="filter_true", widget=forms.CheckboxInput
    )
    level = django_filters.ChoiceFilter(
        label=_("Level"), field_name="depth", choices=LEVELS, empty_label=_("Any level")
    )
    severity = django_filters.ChoiceFilter(
        label=_("MS-DRG severity"),
        method="filter_severity",
        choices=SEVERITIES,
        empty_label=_("Any severity"),
    )
    hcc = django_filters.BooleanFilter(
        label=_("In a CMS-HCC V28 category"), method="filter_hcc", widget=forms.CheckboxInput
    )

    class Meta:
        model = Code
        fields = ["q", "chapter", "billable", "has_article", "level", "severity", "hcc"]

    def __init__(self, data=None, queryset=None, *, query: Query | None = None, **kwargs):
        """``query``: the view's already understood query, so the text is parsed and resolved once."""
        super().__init__(data, queryset, **kwargs)
        self.query = query

    def filter_search(self, queryset, name, value):
        return queryset.search(self.query if self.query is not None and self.query.text == value else value)

    def filter_severity(self, queryset, name, value):
        levels = ["cc", "mcc"] if value == "cc_or_mcc" else [value]
        return queryset.filter(facts__severity__in=levels)

    def filter_hcc(self, queryset, name, value):
        return queryset.filter(facts__hcc_v28__len__gt=0) if value else queryset

    def filter_true(self, queryset, name, value):
        # An unticked box means "any", not "only false".
        return queryset.filter(**{name: True}) if value else queryset

    @property
    def narrowed(self) -> bool:
        """Whether any filter besides the query is in use."""
        data = self.form.cleaned_data if self.is_bound and self.form.is_valid() else {}
        return any(data.get(name) not in (None, "", False) for name in self.filters if name != "q")
