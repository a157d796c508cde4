"""The context of the public code page with an article that is not (yet) public.

The admin preview renders the public template, conditions/code.html, with
exactly what the public view would pass, except that the article is the
draft being edited.
"""

from . import pages
from .models import Article, ArticleSource


def public_code_context(request, article: Article, sources=None) -> dict:
    """`sources`, when given, are shown instead of the article's current ones (a past revision's)."""
    if sources is not None:
        shown = ArticleSource.objects.filter(article_id=article.pk)
        shown._result_cache, shown._prefetch_done = list(sources), True
        article._prefetched_objects_cache = {"sources": shown}
    page = pages.code_page(article.code_id).with_article(article)
    return {**pages.page_context(request, page), "preview": True}
