from django.urls import path

from search import views

app_name = "search"
urlpatterns = [
    path("search/", views.search_redirect, name="search"),
    path("api/search/", views.search_api, name="api_search"),
    path("api/suggest/", views.suggest_api, name="api_suggest"),
]
