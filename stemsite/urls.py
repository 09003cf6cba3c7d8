from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness probe for operators and the benchmarks' floor: no database, no index."""
    return HttpResponse("ok", content_type="text/plain")


admin.site.site_header = "stemsite editors"
admin.site.site_title = "stemsite admin"
admin.site.index_title = "Library content"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz/", healthz, name="healthz"),
    path("", include("search.urls")),
    path("", include("library.urls")),
]
