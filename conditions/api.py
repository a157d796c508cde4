"""Public JSON API: ``/api/search`` (ranked codes) and ``/api/codes/<code>`` (one code with its tree, notes and article)."""

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from .icd10cm import canonical_code
from .models import Article, Code, Note
from .search import clean

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


def error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def code_summary(code: Code) -> dict:
    return {"code": code.code, "title": code.title, "billable": code.billable, "url": code.get_absolute_url()}


@require_GET
def search(request):
    """``?q=<text>&limit=<1-100>`` -> ``{"query", "count", "results": [...]}``, best first.

    Each result is ``{code, title, billable, chapter, url}``.
    """
    if "q" not in request.GET:
        return error("The q parameter is required.", 400)
    try:
        limit = int(request.GET.get("limit", DEFAULT_LIMIT))
    except ValueError:
        return error(f"limit must be a whole number from 1 to {MAX_LIMIT}.", 400)
    if not 1 <= limit <= MAX_LIMIT:
        return error(f"limit must be a whole number from 1 to {MAX_LIMIT}.", 400)
    query = clean(request.GET["q"])
    results = Code.objects.search(query).only("code", "title", "billable", "chapter_id", "sort_order")
    return JsonResponse(
        {
            "query": query,
            "count": results.count(),
            "results": [
                {
                    "code": c.code,
                    "title": c.title,
                    "billable": c.billable,
                    "chapter": c.chapter_id,
                    "url": c.get_absolute_url(),
                }
                for c in results[:limit]
            ],
        }
    )


@require_GET
def code_detail(request, code):
    """One code: title, billable, chapter, block, parents, children, notes by kind, published article summary."""
    canonical = canonical_code(code)
    found = (
        Code.objects.select_related("chapter", "block").filter(code=canonical).first() if canonical else None
    )
    if found is None:
        return error(f"No ICD-10-CM code {code[:16]!r}.", 404)
    notes = {}
    for note in Note.objects.filter(owner_type=Note.Owner.CODE, owner=found.code).order_by(
        "kind", "position"
    ):
        notes.setdefault(note.kind, []).append(note.text)
    article = Article.objects.published().filter(code_id=found.code).only("title", "summary").first()
    return JsonResponse(
        {
            **code_summary(found),
            "chapter": {
                "number": found.chapter.number,
                "title": found.chapter.title,
                "url": found.chapter.get_absolute_url(),
            },
            "block": {
                "id": found.block.block_id,
                "title": found.block.title,
                "url": found.block.get_absolute_url(),
            },
            "parents": [code_summary(c) for c in Code.objects.ancestors_of(found)],
            "children": [code_summary(c) for c in found.children.order_by("sort_order")],
            "notes": notes,
            "article": {"title": article.title, "summary": article.summary} if article else None,
        }
    )
