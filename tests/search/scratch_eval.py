import pytest
from search.backends.base import SearchQuery
from search.synonyms import synonym_groups
from tests.search.test_relevance import QUESTIONS, PATIENTS_ASKED, library, search_backend  # noqa
from tests.search.answer_vocabulary import site_vocabulary


def test_eval(library, request):
    vocab = site_vocabulary()
    qs = [(p.values if hasattr(p, "values") else p) for p in QUESTIONS] + [p[:3] for p in PATIENTS_ASKED]
    out = []
    for mode in ("keyword", "answer"):
        first = top3 = 0
        for q, expected, within in qs:
            page = library.search(SearchQuery(text=q, synonyms=synonym_groups(), vocabulary=vocab if mode == "answer" else None))
            found = [h.slug for h in page.hits]
            rank = found.index(expected) + 1 if expected in found else 99
            first += rank == 1
            top3 += rank <= 3
            if mode == "answer":
                sec = page.hits[0].section if page.hits else None
                out.append(f"{rank:3} {page.answer:5} {q[:60]!r} -> {found[:3]} | {[t.slug for t in page.understood.topics]} {[i.slug for i in page.understood.intents]} | {sec.heading if sec else ''}")
        out.append(f"{mode}: first {first}/{len(qs)} top3 {top3}/{len(qs)}")
    engine = request.node.callspec.params["search_backend"]
    open(f"/tmp/ans/eval-{engine}.txt", "w").write("\n".join(out))
