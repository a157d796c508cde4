"""The context of the public code page with an article that is not (yet) public.

The admin preview renders the public template, conditions/code.html, with
exactly what the public view would pass, except that the article is the
draft being edited.
"""

from . import pages
from .models import Article


def public_code_context(request, article: Article) -> dict:
    page = pages.code_page(article.code_id).with_article(article)
    return {**pages.page_context(request, page), "preview": True}
