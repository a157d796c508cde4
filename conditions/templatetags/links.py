"""Links to addresses editors typed: only web addresses become links."""

from django import template
from django.core.exceptions import ValidationError

from conditions.models.content import validate_web_url

register = template.Library()


@register.filter
def web_url(url: str) -> str:
    """The address if it is an http or https URL, else "" (a javascript: source stored by any path is no link)."""
    try:
        validate_web_url(url)
    except ValidationError:
        return ""
    return url
