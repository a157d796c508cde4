"""``{% data_release %}``: the name of the official release the site shows, for the footer and the trust pages."""

from django import template

from conditions.icd10cm import RELEASE

register = template.Library()


@register.simple_tag
def data_release():
    return RELEASE
