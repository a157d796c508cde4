from django.urls import path, re_path

from . import api, search_views, views
from .caching import public_page

app_name = "conditions"

urlpatterns = [
    # The public pages are cached by content version (conditions.caching): 304s, s-maxage, page cache.
    path("", public_page(views.home), name="home"),
    re_path(r"^chapters/(?P<number>[0-9]{1,2})/$", public_page(views.chapter_detail), name="chapter"),
    re_path(
        r"^blocks/(?P<block_id>[A-Za-z][0-9A-Za-z]{2}(?:-[A-Za-z][0-9A-Za-z]{2})?)/$",
        public_page(views.block_detail),
        name="block",
    ),
    path("codes/<str:code>/", public_page(views.code_detail), name="code"),
    # /codes/m612 (no slash) redirects to the canonical address in one hop, not two through APPEND_SLASH.
    path("codes/<str:code>", views.code_detail, name="code-no-slash"),
    re_path(r"^cc-exclusions/(?P<number>[0-9]{4})/$", views.pdx_collection, name="pdx-collection"),
    path("changes/", public_page(views.changes), name="changes"),
    path("saved/", views.saved, name="saved"),
    path("api/saved-codes", api.saved_codes, name="saved-codes-api"),
    path("search/", search_views.search, name="search"),
    path("api/autocomplete", api.autocomplete_json, name="autocomplete"),
    path("api/search", api.search, name="api-search"),
    path("api/codes/<str:code>", api.code_detail, name="api-code"),
    path("api/openapi.json", api.openapi_description, name="api-openapi"),
    path("api/", api.reference, name="api-reference"),
]
