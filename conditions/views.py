"""Public pages: home, chapter, block and code."""

from django.http import Http404
from django.shortcuts import get_object_or_404, render

from .icd10cm import canonical_code
from .models import Article, Block, Chapter, Code, Note


def home(request):
    return render(request, "conditions/home.html", {"chapters": Chapter.objects.all()})


def chapter_detail(request, number):
    chapter = get_object_or_404(Chapter, number=number)
    return render(
        request,
        "conditions/chapter.html",
        {"chapter": chapter, "blocks": chapter.blocks.all()},
    )


def block_detail(request, block_id):
    block = get_object_or_404(Block.objects.select_related("chapter"), block_id=block_id)
    return render(
        request,
        "conditions/block.html",
        {"block": block, "categories": block.codes.filter(depth=1)},
    )


def code_detail(request, code):
    canonical = canonical_code(code)
    try:
        if canonical is None:
            raise Code.DoesNotExist
        code = Code.objects.get_by_code(canonical)
    except Code.DoesNotExist:
        raise Http404("No ICD-10-CM code matches this address.")
    return render(
        request,
        "conditions/code.html",
        {
            "code": code,
            "ancestors": Code.objects.ancestors_of(code),
            "children": code.children.all(),
            "notes": Note.objects.filter(owner_type=Note.Owner.CODE, owner=code.code),
            # Issue 5 (editor), superseded by issue 3's page builder at merge.
            "article": Article.objects.published().filter(code_id=code.code).first(),
        },
    )
