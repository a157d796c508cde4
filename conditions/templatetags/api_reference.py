"""Presentation of the OpenAPI description on the /api/ page."""

import json

from django import template
from django.utils.safestring import mark_safe

from conditions.markdown import render_markdown

register = template.Library()


@register.filter
def markdown(text: str) -> str:
    """A description written in Markdown (CommonMark, as OpenAPI says), sanitized like articles."""
    return mark_safe(render_markdown(text))  # noqa: S308 (render_markdown sanitizes with nh3)


@register.filter
def as_json(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)
