"""The Jinja2 environment of the public site's templates (templates/jinja2/); the admin keeps Django's templates.

Globals and filters are the project's presentation functions (conditions.presentation) and Django's own,
never a second copy of their logic. Addresses that are the same on every request (a named URL without
arguments, a static file) are worked out once per process instead of per link.
"""

from functools import lru_cache
from types import SimpleNamespace

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template import defaulttags
from django.template.defaultfilters import date, urlencode
from django.templatetags.static import static as static_url
from django.urls import get_script_prefix, get_urlconf, reverse
from jinja2 import ChainableUndefined, Environment, pass_context

from conditions import presentation
from conditions.icd10cm import RELEASE


@lru_cache(maxsize=256)
def _reverse(name, args, prefix, urlconf):
    return reverse(name, args=args or None, urlconf=urlconf)


def url(name: str, *args) -> str:
    """``{% url %}``: reversed once per name, arguments, script prefix and URL configuration."""
    return _reverse(name, args, get_script_prefix(), get_urlconf())


@lru_cache(maxsize=128)
def static(path: str) -> str:
    """``{% static %}``: the (hashed, in production) address of a file of static/, looked up once per process."""
    return static_url(path)


@receiver(setting_changed)
def _forget_addresses(*, setting, **kwargs):
    """Tests that change where static files or URLs live get fresh addresses."""
    if setting in {"STATIC_URL", "STORAGES", "STATICFILES_STORAGE", "ROOT_URLCONF", "FORCE_SCRIPT_NAME"}:
        static.cache_clear()
        _reverse.cache_clear()


@pass_context
def querystring(context, **changes) -> str:
    """``{% querystring page=2 %}``: Django's tag, given the request the way it reads it from its context."""
    return defaulttags.querystring(SimpleNamespace(request=context["request"]), **changes)


# conditions.presentation's functions, under their own names: called as functions, or used as filters.
PRESENTATION_GLOBALS = ("code_tree", "note_source", "code_description", "code_json_ld")
PRESENTATION_FILTERS = ("thousands", "plural", "link_codes", "wrap_lines", "markdown", "as_json", "web_url")


def environment(**options) -> Environment:
    # Undefined names and attributes read as empty, as in Django's templates, also down a chain
    # (page.coding.history.new_in when a page has no coding facts), in development as in production.
    options["undefined"] = ChainableUndefined
    options.pop("autoescape", None)  # always on
    options.setdefault("keep_trailing_newline", True)
    env = Environment(autoescape=True, **options)
    env.globals.update({name: getattr(presentation, name) for name in PRESENTATION_GLOBALS})
    env.globals.update(url=url, static=static, querystring=querystring, data_release=RELEASE)
    env.filters.update({name: getattr(presentation, name) for name in PRESENTATION_FILTERS})
    env.filters.update(date=date, urlencode=urlencode)
    return env
