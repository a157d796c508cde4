"""Search answers kept in each process for the current content version.

A search's answer depends only on the query and on the content (code set, notes, published articles,
synonyms, word list, crosswalk), and every write to those bumps the content version
(``conditions.caching.content_version``, migrations 0011, 0017 and 0018). So each process keeps recent answers
in memory, dropped all at once when the version changes: a repeated query, or a keystroke typed before,
costs one small query for the version instead of the ranking. Nothing is written to the database.
"""

import threading
from collections import OrderedDict

from .caching import content_version, under
from .search.resolve import CONTENT_VERSION


class VersionedMemo:
    """At most ``size`` answers, least recently used out first, for one content version at a time."""

    def __init__(self, size: int):
        self.size = size
        self._lock = threading.Lock()
        self._version = None
        self._answers = OrderedDict()

    def get(self, key, compute):
        """The answer for ``key`` under the current version, from ``compute()`` when not kept."""
        current = content_version()
        version = current.key
        with self._lock:
            if version != self._version:
                self._answers.clear()
                self._version = version
            elif key in self._answers:
                self._answers.move_to_end(key)
                return self._answers[key]
        # Resolving reads the word list and synonyms for this version without asking for it again, and what
        # the answer shows of the headings is held for it (``caching.per_version``).
        token = CONTENT_VERSION.set(version)
        try:
            with under(current):
                answer = compute()
        finally:
            CONTENT_VERSION.reset(token)
        with self._lock:
            if version == self._version:
                self._answers[key] = answer
                if len(self._answers) > self.size:
                    self._answers.popitem(last=False)
        return answer

    def clear(self):
        with self._lock:
            self._answers.clear()
            self._version = None


# JSON answers are small; a results page holds model rows with their family lists.
API = VersionedMemo(4096)
SUGGESTIONS = VersionedMemo(8192)
PAGES = VersionedMemo(512)


def clear() -> None:
    for memo in (API, SUGGESTIONS, PAGES):
        memo.clear()
