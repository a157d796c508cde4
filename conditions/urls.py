from django.urls import path, re_path

from . import api, search_views, views

app_name = "conditions"

urlpatterns = [
    path("", views.home, name="home"),
    re_path(r"^chapters/(?P<number>[0-9]{1,2})/$", views.chapter_detail, name="chapter"),
    re_path(r"^blocks/(?P<block_id>[A-Z][0-9][0-9A-Z](?:-[A-Z][0-9][0-9A-Z])?)/$", views.block_detail, name="block"),
    path("codes/<str:code>/", views.code_detail, name="code"),
    path("search/", search_views.search, name="search"),
    path("api/autocomplete", search_views.autocomplete_json, name="autocomplete"),
    path("api/search", api.search, name="api-search"),
    path("api/codes/<str:code>", api.code_detail, name="api-code"),
]
