from conditions.search import SEARCH_CONFIG

from .codes import Block, Chapter, Code, CodeQuerySet, Note
from .coding import CodeFacts, Icd9Code, NextYearCode, PdxCollection, RetiredCode
from .content import Article, ArticleQuerySet, ArticleSource, Synonym
from .feedback import ErrorReport
from .versions import ContentVersion, ImportState
from .words import SearchPosting, SearchWord

__all__ = [
    "Article",
    "ArticleQuerySet",
    "ArticleSource",
    "Block",
    "Chapter",
    "Code",
    "CodeFacts",
    "CodeQuerySet",
    "ContentVersion",
    "ErrorReport",
    "Icd9Code",
    "ImportState",
    "NextYearCode",
    "Note",
    "PdxCollection",
    "RetiredCode",
    "SEARCH_CONFIG",
    "SearchPosting",
    "SearchWord",
    "Synonym",
]
