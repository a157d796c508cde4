from conditions.search import SEARCH_CONFIG

from .codes import Block, Chapter, Code, CodeQuerySet, Note
from .content import Article, ArticleQuerySet, ArticleSource, Synonym
from .feedback import ErrorReport
from .words import SearchWord

__all__ = [
    "Article",
    "ArticleQuerySet",
    "ArticleSource",
    "Block",
    "Chapter",
    "Code",
    "CodeQuerySet",
    "ErrorReport",
    "Note",
    "SEARCH_CONFIG",
    "SearchWord",
    "Synonym",
]
