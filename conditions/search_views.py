"""The search results page (the JSON endpoints of search live in ``conditions.api``)."""

from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from .filters import CodeSearchFilter
from .models import Code
from .search import clean_query, highlight, matching_sections

RESULTS_PER_PAGE = 20


@require_GET
def search(request):
    # The query is cleaned before the form sees it: NUL bytes or 10,000 characters are a query, not a form error.
    query = clean_query(request.GET.get("q", ""))
    data = request.GET.copy()
    data["q"] = query
    filterset = CodeSearchFilter(data, queryset=Code.objects.select_related("chapter"))
    context = {"query": query, "filterset": filterset, "page_obj": None, "sections": []}
    if not query or not filterset.is_valid():
        return render(request, "conditions/search.html", context, status=200 if filterset.is_valid() else 400)
    results = filterset.qs
    parsed = filterset.parsed_query
    if parsed.exact_code and not filterset.narrowed:
        return redirect("conditions:code", parsed.exact_code)
    page_obj = Paginator(results, RESULTS_PER_PAGE).get_page(request.GET.get("page"))
    highlight(page_obj.object_list, parsed)
    context.update(
        parsed=parsed,
        page_obj=page_obj,
        sections=matching_sections(parsed) if page_obj.number == 1 and not filterset.narrowed else [],
    )
    return render(request, "conditions/search.html", context)
