from django.urls import path

from library import views
from library.explore import ExploreView
from library.feeds import ArticleFeed
from library.models import Disease, Tag, Therapy

app_name = "library"
urlpatterns = [
    path("", views.home, name="home"),
    path("articles/", views.ArticleListView.as_view(), name="article_list"),
    path("articles/<slug:slug>/", views.ArticleDetailView.as_view(), name="article_detail"),
    path("diseases/", views.TaxonomyIndexView.as_view(model=Disease), name="disease_list"),
    path("diseases/<slug:slug>/", views.DiseaseArticleListView.as_view(), name="disease_detail"),
    path("therapies/", views.TaxonomyIndexView.as_view(model=Therapy), name="therapy_list"),
    path("therapies/<slug:slug>/", views.TherapyArticleListView.as_view(), name="therapy_detail"),
    path("tags/", views.TaxonomyIndexView.as_view(model=Tag), name="tag_list"),
    path("tags/<slug:slug>/", views.TagArticleListView.as_view(), name="tag_detail"),
    path("explore/", ExploreView.as_view(), name="explore"),
    path(
        "about/editorial-policy/",
        views.EditorialPolicyView.as_view(),
        name="editorial_policy",
    ),
    path("feeds/articles/", ArticleFeed(), name="article_feed"),
]
