from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.sitemaps import views as sitemap_views
from django.urls import include, path

from conditions import views as condition_views
from conditions.caching import cached_sitemap
from conditions.sitemaps import SITEMAPS
from icdsite import health, icons

urlpatterns = [
    path(settings.ADMIN_PATH, admin.site.urls),
    path("robots.txt", condition_views.robots_txt, name="robots-txt"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("favicon.ico", icons.root_icon, {"name": "favicon.ico"}, name="favicon"),
    path("apple-touch-icon.png", icons.root_icon, {"name": "apple-touch-icon.png"}, name="apple-touch-icon"),
    path(
        "sitemap.xml",
        cached_sitemap(sitemap_views.index),
        {"sitemaps": SITEMAPS, "sitemap_url_name": "sitemap-section"},
        name="sitemap-index",
    ),
    path(
        "sitemap-<section>.xml",
        cached_sitemap(sitemap_views.sitemap),
        {"sitemaps": SITEMAPS},
        name="sitemap-section",
    ),
    # Who runs the site and how: linked from every page's footer.
    path("about/", condition_views.about, name="about"),
    path("editorial-policy/", condition_views.editorial_policy, name="editorial-policy"),
    path("privacy/", condition_views.privacy, name="privacy"),
    path("contact/", condition_views.contact, name="contact"),
    path("", include("conditions.urls")),
]
# Illustrations in development (static() adds nothing with DEBUG off: the web server serves MEDIA_ROOT).
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler404 = "conditions.views.page_not_found"
