"""The search results page (the JSON endpoints of search live in ``conditions.api``)."""

from django.core.paginator import Page, Paginator
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.functional import cached_property
from django.views.decorators.http import require_GET

from . import search_cache
from .filters import CodeSearchFilter
from .models import Block, Chapter, Code, Icd9Code
from .pages import headings
from .search import (
    FAMILY_LIST,
    Kind,
    clean,
    collapsed_page,
    highlight,
    matching_sections,
    understand,
)

RESULTS_PER_PAGE = 20


class CountedPaginator(Paginator):
    """A paginator told its count: the collapsed ranking gives a page and the totals in one query."""

    def __init__(self, per_page, *, count: int):
        super().__init__([], per_page)
        self.known_count = count

    @cached_property
    def count(self):
        return self.known_count


def results_page(results, query, number) -> tuple[Page, int]:
    """(page ``number``, codes matched) of the collapsed ranking; like ``Paginator.get_page``, a page number
    that is not one gives the first page and one past the end the last."""
    try:
        number = min(max(1, int(number)), 100_000)
    except (TypeError, ValueError):
        number = 1
    while True:
        offset = (number - 1) * RESULTS_PER_PAGE
        rows, total, codes = collapsed_page(
            results, query, offset=offset, limit=RESULTS_PER_PAGE, members=FAMILY_LIST
        )
        paginator = CountedPaginator(RESULTS_PER_PAGE, count=total)
        if rows or number <= paginator.num_pages:
            return Page(rows, number, paginator), codes
        number = paginator.num_pages


@require_GET
def search(request):
    text = clean(request.GET.get("q", ""))
    data = request.GET.copy()
    data["q"] = text
    # The page follows from its address (base.html shows the host) and the content: kept per content version.
    key = (
        request.scheme,
        request.get_host(),
        tuple(sorted((name, tuple(values)) for name, values in data.lists())),
    )
    status, location, content = search_cache.PAGES.get(key, lambda: search_page(request, data, text))
    if location:
        return redirect(location)
    return HttpResponse(content, status=status)


def search_page(request, data, text: str) -> tuple[int, str | None, str]:
    """(status, redirect address or None, HTML) of the search page for these parameters."""
    filterset = CodeSearchFilter(data, queryset=Code.objects.select_related("chapter"))
    context = {"query": text, "filterset": filterset, "page_obj": None, "sections": []}
    if text and filterset.is_valid():
        found = search_results(filterset, text, request.GET.get("page"))
        if found.get("redirect"):
            return 302, reverse("conditions:code", args=[found["redirect"]]), ""
        context.update(found)
    status = 200 if filterset.is_valid() else 400
    return status, None, render_to_string("conditions/search.html", context, request=request)


def search_results(filterset: CodeSearchFilter, text: str, page) -> dict:
    """What the results page shows besides the form, or ``{"redirect": code}`` for a code typed whole."""
    # The query is understood once (parsed and resolved) and handed to the FilterSet, which ranks through it.
    query = filterset.query = understand(text)
    if query.exact_code and not filterset.narrowed:
        return {"redirect": query.exact_code}
    # A large family shows as one row (expandable, listing its best other matches), so different conditions
    # fill the first page.
    page_obj, code_count = results_page(filterset.qs, query, page)
    chapters, blocks = headings()
    highlight(page_obj.object_list, query)
    first_page = page_obj.number == 1 and not filterset.narrowed
    found = {
        "parsed": query,
        "page_obj": page_obj,
        "code_count": code_count,
        # An ICD-9-CM code: its GEM targets lead the results; say what the code was.
        "icd9": Icd9Code.objects.filter(code=query.text.upper()).first() if query.kind is Kind.ICD9 else None,
        "sections": matching_sections(query, (Chapter, chapters), (Block, blocks)) if first_page else [],
    }
    if not page_obj.object_list:
        # Never a dead end: each word alone and the chapters.
        found["words"] = [w for w in dict.fromkeys(query.words) if len(query.words) > 1]
        found["chapters"] = list(chapters.values())
    return found
