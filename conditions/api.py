"""The public JSON API, every ``/api/`` view in one place.

``/api/codes/<code>`` serializes the same page data (``pages.code_page``) as the
HTML code page, so the two never disagree. ``/api/search`` ranks codes,
``/api/autocomplete`` serves the search box, ``/api/saved-codes`` the saved-codes page;
``/api/openapi.json`` describes them all (``conditions.openapi``) and ``/api/`` shows that to people.
"""

from dataclasses import asdict

from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from . import pages, search_cache
from .icd10cm import canonical_code
from .models import Code, RetiredCode
from .search import clean, collapsed_page, understand

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
SAVED_CODES_LIMIT = 100


def read_only(view):
    """GET only: other methods get 405, not the CSRF check's 403 (nothing here reads cookies or writes)."""
    return csrf_exempt(require_GET(view))


def error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def code_summary(code) -> dict:
    return {"code": code.code, "title": code.title, "billable": code.billable, "url": code.get_absolute_url()}


def code_data(page: pages.CodePage) -> dict:
    """What the code page shows, as JSON."""
    code = page.code
    notes = {}
    for group in page.note_groups:
        for source in group.sources:
            notes.setdefault(group.kind, []).extend(source.notes)
    article = page.article
    return {
        **code_summary(code),
        "chapter": {
            "number": code.chapter.number,
            "title": code.chapter.title,
            "url": code.chapter.get_absolute_url(),
        },
        "block": {
            "id": code.block.block_id,
            "title": code.block.title,
            "url": code.block.get_absolute_url(),
        },
        "parents": [code_summary(c) for c in page.ancestors],
        "children": [code_summary(c) for c in page.tree],
        "notes": notes,
        "note_sources": [
            {
                "kind": group.kind,
                "label": str(group.label),
                "sources": [
                    {"level": source.level, "owner": source.owner, "url": source.url, "notes": source.notes}
                    for source in group.sources
                ],
            }
            for group in page.note_groups
        ],
        "seventh_characters": {
            "defined_at": page.seventh_source.code,
            "this_code": page.seventh_current,
            "notes": page.seventh_notes,
            "characters": [{"character": c, "meaning": m} for c, m in page.seventh_characters],
        }
        if page.seventh_source
        else None,
        "article": {
            "title": article.title,
            "summary": article.summary,
            "related_codes": [code_summary(c) for c in page.related_codes],
        }
        if article
        else None,
        "coding": page.coding,
        **plain_words_data(page),
    }


def plain_words_data(page: pages.CodePage) -> dict:
    """The page's plain words, and the ancestor's article a code without its own shows ("About M77.1 ...")."""
    family = page.family_article
    return {
        "plain_words": asdict(page.plain_words) if page.plain_words else None,
        "family_article": {
            "code": family.code_id,
            "title": family.title,
            "summary": family.summary,
            "url": family.get_absolute_url(),
        }
        if family
        else None,
    }


def retired_data(retired) -> dict:
    """A code FY2026 deleted: when it was valid and the codes to use instead."""
    return {
        "code": retired.code,
        "title": retired.title,
        "deleted": True,
        "fiscal_years": retired.fiscal_years,
        "billable_years": retired.billable_years,
        "earlier_titles": [
            {"fiscal_year": int(y), "title": t} for y, t in sorted(retired.earlier_titles.items())
        ],
        "replaced_by": retired.replaced_by,
        "url": reverse("conditions:code", args=[retired.code]),
    }


def search_result(code) -> dict:
    """A ranked row; a large family's best match carries the family it stands for (``family_code``...)."""
    family = getattr(code, "family_code", None)
    return {
        "code": code.code,
        "title": code.title,
        "billable": code.billable,
        "chapter": code.chapter_id,
        "url": code.get_absolute_url(),
        "family": {
            "code": family,
            "title": code.family_title,
            "count": code.family_size,
            "url": reverse("conditions:code", args=[family]),
        }
        if family
        else None,
    }


@read_only
def search(request):
    """``?q=<text>&limit=<1-100>`` -> ``{"query", "count", "results": [...]}``, best first.

    Each result is ``{code, title, billable, chapter, url, family}``: a large family (``S42.43-``, 49 codes)
    is one result, its best match, with ``family`` naming it; else ``family`` is null.
    """
    if "q" not in request.GET:
        return error("The q parameter is required.", 400)
    try:
        limit = int(request.GET.get("limit", DEFAULT_LIMIT))
    except ValueError:
        return error(f"limit must be a whole number from 1 to {MAX_LIMIT}.", 400)
    if not 1 <= limit <= MAX_LIMIT:
        return error(f"limit must be a whole number from 1 to {MAX_LIMIT}.", 400)
    text = clean(request.GET["q"])
    return JsonResponse(search_cache.API.get(("search", text, limit), lambda: search_data(text, limit)))


def search_data(text: str, limit: int) -> dict:
    query = understand(text)
    results = Code.objects.search(query).only("code", "title", "billable", "chapter_id", "sort_order")
    rows, _, count = collapsed_page(results, query, offset=0, limit=limit)
    return {"query": query.text, "count": count, "results": [search_result(c) for c in rows]}


@read_only
def code_detail(request, code):
    """One code as its page shows it: title, hierarchy, children, every note with its level, 7th characters, article."""
    canonical = canonical_code(code)
    try:
        page = pages.code_page(canonical) if canonical else None
    except Code.DoesNotExist:
        page = None
    if page is None:
        retired = RetiredCode.objects.filter(code=canonical).first() if canonical else None
        if retired:
            return JsonResponse(
                {"error": f"{canonical} was deleted after FY{retired.last_year}.", **retired_data(retired)},
                status=410,
            )
        return error(f"No ICD-10-CM code {code[:16]!r}.", 404)
    return JsonResponse(code_data(page))


@read_only
def autocomplete_json(request):
    """Suggestions for the search box: ``{"query": ..., "results": [{code, title, billable, url}]}``."""
    query = clean(request.GET.get("q", ""))
    return JsonResponse(
        search_cache.SUGGESTIONS.get(
            query, lambda: {"query": query, "results": [code_summary(c) for c in Code.objects.suggest(query)]}
        )
    )


@read_only
def saved_codes(request):
    """Titles and billable status of the codes a visitor saved in the browser (at most 100 at a time)."""
    raw = request.GET.get("codes", "")
    if raw.count(",") >= SAVED_CODES_LIMIT or len(raw) > SAVED_CODES_LIMIT * 10:
        return error(f"At most {SAVED_CODES_LIMIT} codes at a time.", 400)
    found, unknown = pages.saved_codes(raw, limit=SAVED_CODES_LIMIT)
    return JsonResponse({"codes": [code_summary(c) for c in found], "unknown": unknown})


@read_only
def openapi_description(request):
    """The OpenAPI 3.1 description of this API (``conditions.openapi``)."""
    from .openapi import OPENAPI  # imported here: conditions.openapi reads this module's limits

    return JsonResponse(OPENAPI)


@read_only
def reference(request):
    """The API described for people: the same OpenAPI description as an HTML page."""
    from .openapi import OPENAPI, operations

    return render(
        request,
        "conditions/api.html",
        {"info": OPENAPI["info"], "operations": operations(), "schemas": OPENAPI["components"]["schemas"]},
    )
