import itertools
import pytest
from search import answering
from search.backends.base import SearchQuery
from search.synonyms import synonym_groups
from tests.search.test_relevance import QUESTIONS, PATIENTS_ASKED, library, search_backend  # noqa
from tests.search.answer_vocabulary import site_vocabulary


def test_grid(library, request):
    vocab = site_vocabulary()
    syn = synonym_groups()
    qs = [(p.values if hasattr(p, "values") else p) for p in QUESTIONS] + [p[:3] for p in PATIENTS_ASKED]
    out = []
    for filed, intent, section, ih, prior in itertools.product((0.3, 0.6, 0.9), (0.0, 0.2, 0.4), (0.0, 0.2, 0.4, 0.8), (0.0, 0.5), (0.0, 0.5)):
        answering.FILED, answering.INTENT, answering.SECTION, answering.INTENT_HEADING, answering.PRIOR = filed, intent, section, ih, prior
        first = top3 = 0
        for q, expected, within in qs:
            page = library.search(SearchQuery(text=q, synonyms=syn, vocabulary=vocab))
            found = [h.slug for h in page.hits]
            rank = found.index(expected) + 1 if expected in found else 99
            first += rank == 1
            top3 += rank <= within
        out.append((first + top3, first, top3, filed, intent, section, ih, prior))
    out.sort(reverse=True)
    engine = request.node.callspec.params["search_backend"]
    open(f"/tmp/ans/grid-{engine}.txt", "w").write("\n".join(map(str, out)))
