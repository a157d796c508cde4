"""Full-text search over the code set.

Query understanding and ranking (query), what pages show (results), and the
searchable text kept on code rows (index).
"""

from .index import refresh_article_text, refresh_due_articles, refresh_official_text
from .query import MAX_QUERY_LENGTH, Match, ParsedQuery, parse_query, search_codes
from .query import clean as clean_query
from .results import autocomplete, highlight, matching_sections

__all__ = [
    "MAX_QUERY_LENGTH",
    "Match",
    "ParsedQuery",
    "autocomplete",
    "clean_query",
    "highlight",
    "matching_sections",
    "parse_query",
    "refresh_article_text",
    "refresh_due_articles",
    "refresh_official_text",
    "search_codes",
]
