from django.contrib import admin
from django.urls import include, path

from stemsite.health import healthz, readyz

admin.site.site_header = "stemsite editors"
admin.site.site_title = "stemsite admin"
admin.site.index_title = "Library content"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz/", healthz, name="healthz"),
    path("readyz/", readyz, name="readyz"),
    path("", include("search.urls")),
    path("", include("library.urls")),
]
