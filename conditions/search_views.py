"""The search results page (the JSON endpoints of search live in ``conditions.api``)."""

from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.functional import cached_property
from django.views.decorators.http import require_GET

from .filters import CodeSearchFilter
from .models import Block, Chapter, Code, Icd9Code
from .search import (
    Kind,
    collapsed,
    collapsed_counts,
    highlight,
    matching_sections,
    understand,
    with_families,
)

RESULTS_PER_PAGE = 20


class CountedPaginator(Paginator):
    """A paginator told its count (counting the collapsed rows by family costs no ranking)."""

    def __init__(self, object_list, per_page, *, count: int):
        super().__init__(object_list, per_page)
        self.known_count = count

    @cached_property
    def count(self):
        return self.known_count


@require_GET
def search(request):
    # The query is understood once (parsed and resolved) and handed to the FilterSet, which ranks through it.
    query = understand(request.GET.get("q", ""))
    data = request.GET.copy()
    data["q"] = query.text
    filterset = CodeSearchFilter(data, queryset=Code.objects.select_related("chapter"), query=query)
    context = {"query": query.text, "filterset": filterset, "page_obj": None, "sections": []}
    if not query.text or not filterset.is_valid():
        return render(request, "conditions/search.html", context, status=200 if filterset.is_valid() else 400)
    if query.exact_code and not filterset.narrowed:
        return redirect("conditions:code", query.exact_code)
    # A large family shows as one row (expandable), so different conditions fill the first page.
    rows, code_count = collapsed_counts(filterset.qs, query)
    paginator = CountedPaginator(collapsed(filterset.qs, query), RESULTS_PER_PAGE, count=rows)
    page_obj = paginator.get_page(request.GET.get("page"))
    highlight(page_obj.object_list, query)
    with_families(page_obj.object_list, filterset.qs)
    first_page = page_obj.number == 1 and not filterset.narrowed
    context.update(
        parsed=query,
        page_obj=page_obj,
        code_count=code_count,
        # An ICD-9-CM code: its GEM targets lead the results; say what the code was.
        icd9=Icd9Code.objects.filter(code=query.text.upper()).first() if query.kind is Kind.ICD9 else None,
        sections=matching_sections(query, Chapter.objects.all(), Block.objects.all()) if first_page else [],
    )
    if not page_obj.object_list:
        # Never a dead end: each word alone and the chapters.
        context.update(
            words=[w for w in dict.fromkeys(query.words) if len(query.words) > 1],
            chapters=Chapter.objects.all(),
        )
    return render(request, "conditions/search.html", context)
