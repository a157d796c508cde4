"""Addresses of the chapter, block and code pages, built without a ``reverse()`` per link.

A code page links up to 300 codes and a sitemap file 50,000: every address of a kind has the same shape,
so it is reversed once (per script prefix and URL configuration) and the key put into it.
"""

from functools import lru_cache

from django.urls import get_script_prefix, get_urlconf, reverse

# A key each page's URL pattern accepts, standing for the real one (official keys need no quoting).
_PLACEHOLDERS = {"conditions:code": "Z99.99X", "conditions:block": "Z99", "conditions:chapter": "99"}


@lru_cache(maxsize=64)
def _shape(view_name, prefix, urlconf):
    return reverse(view_name, args=[_PLACEHOLDERS[view_name]], urlconf=urlconf)


def page_urls(view_name: str):
    """``page_url`` of one view for many keys (a code tree's 300 links): the request's script prefix and URL
    configuration, thread-local lookups, read once."""
    shape, placeholder = _shape(view_name, get_script_prefix(), get_urlconf()), _PLACEHOLDERS[view_name]
    return lambda key: shape.replace(placeholder, key, 1)


def page_url(view_name: str, key: str) -> str:
    """What ``reverse(view_name, args=[key])`` gives, for ``conditions:code``, ``:block`` and ``:chapter``."""
    return page_urls(view_name)(key)


def code_url(code: str) -> str:
    return page_url("conditions:code", code)
