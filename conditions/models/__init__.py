from .codes import Block, Chapter, Code, CodeQuerySet, Note
from .content import Article, ArticleQuerySet, ArticleSource, Synonym

__all__ = [
    "Article", "ArticleQuerySet", "ArticleSource", "Block", "Chapter", "Code", "CodeQuerySet", "Note", "Synonym",
]
