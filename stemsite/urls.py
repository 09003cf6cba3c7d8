from django.contrib import admin
from django.contrib.sitemaps import views as sitemap_views
from django.urls import include, path

from library.seo import opensearch_xml, robots_txt
from library.sitemaps import SITEMAPS
from stemsite.health import healthz, readyz
from stemsite.throttling import LoginForm

admin.site.site_header = "stemsite editors"
admin.site.site_title = "stemsite admin"
admin.site.index_title = "Library content"
admin.site.login_form = LoginForm  # a wrong password says how many attempts remain

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz/", healthz, name="healthz"),
    path("readyz/", readyz, name="readyz"),
    path("robots.txt", robots_txt, name="robots_txt"),
    path("opensearch.xml", opensearch_xml, name="opensearch"),
    path(
        "sitemap.xml",
        sitemap_views.index,
        {"sitemaps": SITEMAPS, "sitemap_url_name": "sitemap_section"},
        name="sitemap",
    ),
    path(
        "sitemap-<section>.xml",
        sitemap_views.sitemap,
        {"sitemaps": SITEMAPS},
        name="sitemap_section",
    ),
    path("", include("search.urls")),
    path("", include("library.urls")),
]
