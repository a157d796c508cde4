"""Sample articles and lay-term synonyms written for icdsite, loaded through the publishing services.

Each article is a Markdown file in articles/ with TOML front matter between
+++ lines; its illustration is a hand-drawn SVG in illustrations/. SVG is no
bitmap Pillow could check, so these bundled, trusted files skip the upload
checks (conditions.images.bundled_illustration); uploads never can.
Loading is idempotent: an article whose code already has one, or a synonym
whose term exists, is left as it is (editors may have changed it).
"""

import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from conditions import services
from conditions.images import bundled_illustration
from conditions.lay_terms import load_lay_terms, read_lay_terms
from conditions.models import Article, ArticleSource, Code

HERE = Path(__file__).resolve().parent
AUTHOR = "icdsite editorial team (sample content)"
LOADER_USERNAME = "sample-content"


@dataclass
class Summary:
    created: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    synonyms_created: int = 0


def read_article(path: Path) -> tuple[dict, str]:
    """Split a sample file into its front matter and Markdown body."""
    _, front, body = path.read_text(encoding="utf-8").split("+++\n", 2)
    return tomllib.loads(front), body.strip() + "\n"


def loader_user():
    """The account that signs the sample revisions: a publisher that cannot log in."""
    user, created = get_user_model().objects.get_or_create(username=LOADER_USERNAME)
    if created:
        user.set_unusable_password()
        user.save()
    user.groups.add(Group.objects.get(name="Publisher"))
    return get_user_model().objects.get(pk=user.pk)  # fresh permission cache


@transaction.atomic
def load_sample_content() -> Summary:
    summary = Summary()
    user = loader_user()
    for path in sorted((HERE / "articles").glob("*.md")):
        meta, body = read_article(path)
        if Article.objects.filter(code_id=meta["code"]).exists():
            summary.skipped.append(meta["code"])
            continue
        article = Article(
            code_id=meta["code"],
            title=meta["title"],
            summary=meta["summary"],
            body=body,
            author=AUTHOR,
            medical_reviewer="",  # no clinician has reviewed the samples: name no one
            last_reviewed=date.fromisoformat(meta["last_reviewed"]),
            illustration=bundled_illustration(HERE / "illustrations" / meta["illustration"]),
            illustration_alt=meta["illustration_alt"],
            illustration_caption=meta["illustration_caption"],
            illustration_credit=meta["illustration_credit"],
        )
        services.article_save(
            article=article,
            user=user,
            related_codes=Code.objects.filter(code__in=meta.get("related_codes", [])),
        )
        for position, (title, url) in enumerate(meta["sources"], start=1):
            source = ArticleSource(article=article, position=position, title=title, url=url)
            services.source_save(source=source, user=user)
        services.article_submit(article=article, user=user)
        services.article_publish(article=article, user=user)
        summary.created.append(meta["code"])
    # The lay terms live in the search vocabulary (conditions/data/lay_terms.txt); editors' changes are kept.
    summary.synonyms_created = len(load_lay_terms(read_lay_terms()).created)
    return summary
