"""Public pages: home, chapter, block, code, saved codes, the trust pages, the 404 page and robots.txt.

The views only validate the address, call ``conditions.pages`` and render.
"""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET, require_http_methods

from . import api, pages, services, trust
from .icd10cm import canonical_code
from .models import Block, Chapter, Code, PdxCollection, RetiredCode


def home(request):
    return render(
        request,
        "conditions/home.html",
        {"chapters": pages.home_chapters(), "articles": pages.recent_articles()},
    )


def chapter_detail(request, number):
    chapter = get_object_or_404(Chapter, number=number)
    blocks = list(pages.chapter_blocks(chapter))
    return render(
        request,
        "conditions/chapter.html",
        {
            "chapter": chapter,
            "blocks": blocks,
            "block_tree": pages.block_tree(blocks),
            "notes": pages.heading_notes("chapter", chapter.number),
        },
    )


def block_detail(request, block_id):
    if block_id != block_id.upper():  # /blocks/m60-m63/ -> the canonical address
        block = get_object_or_404(Block, block_id=block_id.upper())
        return redirect(block, permanent=True)
    block = get_object_or_404(Block.objects.select_related("chapter"), block_id=block_id)
    sub_blocks = pages.sub_blocks(block)
    return render(
        request,
        "conditions/block.html",
        {
            "code_block": block,
            "categories": pages.block_categories(block),
            "sub_blocks": sub_blocks,
            "sub_block_tree": pages.block_tree(sub_blocks),
            "notes": pages.heading_notes("block", block.block_id),
        },
    )


def code_detail(request, code):
    canonical = canonical_code(code)
    if canonical is None:
        return not_found(request, code)
    if canonical != code or not request.path.endswith("/"):
        if not pages.code_exists(canonical):
            return not_found(request, code)
        return redirect(reverse("conditions:code", args=[canonical]), permanent=True)
    try:
        page = pages.code_page(canonical)
    except Code.DoesNotExist:
        return retired_code(request, canonical) or not_found(request, code)
    return render(request, "conditions/code.html", pages.page_context(request, page))


def retired_code(request, canonical):
    """410 Gone with a page: the code was valid in an earlier release, and here is where to go instead."""
    try:
        page = pages.retired_page(canonical)
    except RetiredCode.DoesNotExist:
        return None
    return render(request, "conditions/retired_code.html", {"page": page, "code": page.retired}, status=410)


def pdx_collection(request, number):
    """A Table 6K PDX collection: the principal diagnoses that keep a CC or MCC from counting."""
    collection = get_object_or_404(PdxCollection, number=number)
    context = pages.pdx_collection(collection, request.GET.get("code", ""))
    return render(request, "conditions/pdx_collection.html", context)


def changes(request):
    """What the next release adds and deletes."""
    return render(request, "conditions/changes.html", pages.next_release_changes())


def saved(request):
    return render(request, "conditions/saved.html")


def not_found(request, text=""):
    """The helpful 404: a search box and the existing codes nearest to what the address held."""
    return render(
        request,
        "404.html",
        {
            "asked": canonical_code(text),
            "nearest": pages.nearest_codes(text),
            "chapters": Chapter.objects.all(),
        },
        status=404,
    )


def page_not_found(request, exception=None):
    """handler404: for a /codes/... address, suggest codes from what follows /codes/; JSON under /api/."""
    path = request.path
    if path.startswith("/api/"):
        return api.error("No such API address; the API is described at /api/.", 404)
    text = path[len("/codes/") :] if path.startswith("/codes/") else ""
    return not_found(request, text)


@require_GET
@cache_control(max_age=86400, public=True)
def robots_txt(request):
    sitemap = request.build_absolute_uri(reverse("sitemap-index"))
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /api/",
        "Disallow: /saved/",
        f"Sitemap: {sitemap}",
        "",
    ]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")


def about(request):
    return render(request, "pages/about.html", {"counts": trust.data_counts()})


def editorial_policy(request):
    return render(request, "pages/editorial_policy.html")


def privacy(request):
    return render(request, "pages/privacy.html")


@never_cache  # the form holds a CSRF token: no shared cache may keep it
@require_http_methods(["GET", "POST"])
def contact(request):
    """Contact and report an error: the form, and after a report, the same page thanking the sender."""
    status = 200
    busy = False
    if request.method == "POST":
        form = trust.ErrorReportForm(request.POST)
        if form.is_valid():
            if not form.is_spam():
                try:
                    services.error_report_create(
                        **{f: form.cleaned_data[f] for f in ("page", "message", "email")}
                    )
                except services.TooManyReports:
                    busy, status = True, 429
            if not busy:
                return redirect(f"{reverse('contact')}?sent=1")
        else:
            status = 400
    else:
        page = request.GET.get("page", "")
        form = trust.ErrorReportForm(initial={"page": page if page.startswith("/") else ""})
    context = {"form": form, "sent": request.GET.get("sent") == "1", "busy": busy}
    return render(request, "pages/contact.html", context, status=status)
