from conditions.search import SEARCH_CONFIG

from .codes import Block, Chapter, Code, CodeQuerySet, Note
from .content import Article, ArticleQuerySet, ArticleSource, Synonym
from .feedback import ErrorReport
from .versions import ContentVersion
from .words import SearchWord

__all__ = [
    "Article",
    "ArticleQuerySet",
    "ArticleSource",
    "Block",
    "Chapter",
    "Code",
    "CodeQuerySet",
    "ContentVersion",
    "ErrorReport",
    "Note",
    "SEARCH_CONFIG",
    "SearchWord",
    "Synonym",
]
