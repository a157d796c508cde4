"""The context of the public code page with an article that is not (yet) public.

The admin preview renders the public template, conditions/code.html, with
exactly what the public view would pass, except that the article is the
draft being edited.
"""

from .models import Article, Code, Note

try:  # conditions.pages is the code page builder of issue 3; until it is merged, the older view's context.
    from . import pages
except ImportError:  # pragma: no cover - removed at merge
    pages = None


def public_code_context(request, article: Article) -> dict:
    if pages is not None:
        page = pages.code_page(article.code_id)
        page.article = article
        url = request.build_absolute_uri(page.code.get_absolute_url())
        return {"page": page, "code": page.code, "canonical_url": url, "json_ld": page.json_ld(url), "preview": True}
    code = Code.objects.get_by_code(article.code_id)
    return {
        "code": code,
        "ancestors": Code.objects.ancestors_of(code),
        "children": code.children.all(),
        "notes": Note.objects.filter(owner_type=Note.Owner.CODE, owner=code.code),
        "article": article,
        "preview": True,
    }
