"""sitemap.xml: an index of sitemaps with every chapter, block and code page, at most 50,000 URLs per file."""

from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from .addresses import code_url
from .models import Block, Chapter, Code


class HomeSitemap(Sitemap):
    priority = 1.0

    def items(self):
        return ["conditions:home"]

    def location(self, item):
        return reverse(item)


class ChapterSitemap(Sitemap):
    def items(self):
        return Chapter.objects.order_by("sort_order").only("number")


class BlockSitemap(Sitemap):
    def items(self):
        return Block.objects.order_by("sort_order").only("block_id")


class CodeSitemap(Sitemap):
    limit = 50_000

    def items(self):
        # Plain strings: building 50,000 model instances per file would be wasted work.
        return Code.objects.order_by("sort_order").values_list("code", flat=True)

    def location(self, item):
        return code_url(item)


SITEMAPS = {"pages": HomeSitemap, "chapters": ChapterSitemap, "blocks": BlockSitemap, "codes": CodeSitemap}
