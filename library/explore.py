"""`/explore/`: diseases against therapies, with the number of published articles in each.

It answers "what is there about X for Y" at a glance; each non-empty cell links to the
list filtered by both, whose total is the cell's number (both count
`Article.objects.published()` carrying the disease and the therapy). Three queries
whatever the size of the grid: diseases, therapies, and one GROUP BY over the pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import QueryDict
from django.urls import reverse
from django.views.generic import TemplateView

from library.facets import parameter_of
from library.models import Article, Disease, Therapy


@dataclass
class Cell:
    therapy: Therapy
    count: int
    url: str  # the list filtered by the row's disease and this therapy; "" when empty


@dataclass
class Row:
    disease: Disease
    cells: list[Cell]

    @property
    def total_cells(self) -> int:
        return sum(1 for cell in self.cells if cell.count)


def list_url(disease: Disease, therapy: Therapy) -> str:
    params = QueryDict(mutable=True)
    params[parameter_of(Disease)], params[parameter_of(Therapy)] = disease.slug, therapy.slug
    return f"{reverse('library:article_list')}?{params.urlencode()}"


def build_grid() -> tuple[list[Therapy], list[Row]]:
    """The therapies (columns) and one row per disease, every cell counted."""
    diseases = list(Disease.objects.only("name", "slug"))
    therapies = list(Therapy.objects.only("name", "slug"))
    counts = Article.objects.published().pair_counts()
    rows = []
    for disease in diseases:
        cells = []
        for therapy in therapies:
            count = counts.get((disease.pk, therapy.pk), 0)
            cells.append(Cell(therapy, count, list_url(disease, therapy) if count else ""))
        rows.append(Row(disease, cells))
    return therapies, rows


class ExploreView(TemplateView):
    template_name = "library/explore.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["therapies"], context["rows"] = build_grid()
        return context
