"""Generate synthetic articles for benchmarks and for trying the site at scale.

    python manage.py generate_articles --count 10000 --seed 1
    python manage.py generate_articles --count 1000 --seed 2 --fixture /tmp/articles.json

The articles are deterministic (article *i* of seed *S* is always the same text, whatever
the batch size or `--count`), linked to the shipped taxonomy (which must be loaded), and
read like text rather than noise where it matters to a search engine: titles and
summaries about a disease and a therapy, ~800-word Markdown bodies with headings and
lists, sentences over the taxonomy's names and aliases, and filler drawn from a
long-tailed vocabulary with Zipf-like frequencies (a few words very common, most rare).

They are marked as synthetic everywhere a reader could see them: the slug starts with
`synthetic-`, `source_name` says "Synthetic benchmark article (not medical content)".

Rows are inserted with `bulk_create` (articles and the many-to-many through rows), which
sends no signals: the search index does not follow. Run `rebuild_index` afterwards, or
pass `--index`.
"""

from __future__ import annotations

import datetime
import itertools
import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from library.models import Article, Disease, Tag, Therapy

SOURCE_NAME = "Synthetic benchmark article (not medical content)"
SLUG_PREFIX = "synthetic-"
FIRST_DAY = datetime.date(2018, 1, 1)
LAST_DAY = datetime.date(2025, 12, 31)
DRAFT_RATIO = 0.03

# --- Vocabulary -------------------------------------------------------------
# Ranked roughly from most to least frequent; the Zipf weights follow the rank. The head
# is function words and everyday health words, the tail is generated below from medical
# word parts, so a real-looking long tail of rare terms exists for the search engine.

_HEAD = """
the of and to in a is that for it as with was on are be by this or which an not have
from at their can has but they more some may other been also these when its than most
people about into after such over many only who how what were there would between both
each while because through may within during without often however usually however
patients treatment immune system cells disease body doctors therapy symptoms research
studies risk care health blood years clinical trial effects results evidence condition
medicine cell stem time team new life work support early long term response treatments
options side infection weeks months small large number group higher lower common rare
important different possible specialist hospital clinic centre centres data outcomes
doctor nurse family daily quality patient questions answers follow approach benefit
benefits harm harms safety dose doses drug drugs medicines reduce reducing relapse
remission progression damage inflammation tissue tissues joints skin nerves gut brain
kidneys liver lungs heart function pain fatigue tiredness swelling stiffness flare
flares tests test scan scans monitoring diagnosis prognosis severe mild moderate active
chronic acute treatment-resistant approved experimental standard established specialist
guidance guidelines recommend recommended decision decisions discuss discussed consent
informed understand understanding explain explained expect expected recovery recover
weeks days hours period periods stage stages phase phases procedure procedures centre
costs cost travel insurance access waiting list referral referrals criteria eligible
eligibility age adults children older younger women men pregnancy fertility diet
exercise sleep stress smoking vaccines vaccination infections fever antibiotics
chemotherapy conditioning collection infusion transplant transplantation donor donors
autologous allogeneic graft engraftment mobilisation apheresis cryopreservation
laboratory manufacturing regulated regulation regulators unproven marketing claims
clinics registry registries trials randomised controlled placebo observational
follow-up measure measured measures scores disability mobility function relapsing
progressive remitting antibodies autoantibodies lymphocytes t-cells b-cells cytokines
myelin insulin pancreas beta synovium cartilage plaques lesions bowel intestine colon
""".split()  # noqa: SIM905 (word lists read better as text)

_PREFIXES = """
immuno neuro cardio hepato nephro myelo lympho cyto haemo hemo osteo chondro derma
gastro entero pneumo endo angio fibro histo sero thrombo leuko erythro granulo
""".split()  # noqa: SIM905 (word lists read better as text)
_SUFFIXES = """
logy logist pathy pathic itis genic genesis cyte cytes toxic toxicity plasty scopy
scopic gram graphy lysis lytic megaly oma penia philia poiesis sclerosis stasis trophic
tropic modulation suppression therapy metric
""".split()  # noqa: SIM905 (word lists read better as text)
_SYLLABLES = [consonant + vowel for consonant in "bcdfgklmnprstvz" for vowel in "aeio"]
_ENDINGS = "al an ar ic id in is on or ul ys ate ine ose ase ity ism".split()  # noqa: SIM905


def _build_vocabulary() -> tuple[list[str], list[float]]:
    words = list(dict.fromkeys(_HEAD))
    words += [p + s for p in _PREFIXES for s in _SUFFIXES]
    # A fixed generator, independent of --seed: the vocabulary is part of the corpus design.
    rng = random.Random(20250601)
    tail = set()
    while len(tail) < 6000:
        stem = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))
        tail.add(stem + rng.choice(_ENDINGS))
    words += sorted(tail, key=lambda w: (hash_rank(w), w))
    words = list(dict.fromkeys(words))
    # Zipf-Mandelbrot: weight ~ 1 / (rank + 2.7); cumulative weights for random.choices.
    cumulative = list(itertools.accumulate(1.0 / (rank + 2.7) for rank in range(len(words))))
    return words, cumulative


def hash_rank(word: str) -> int:
    """A stable pseudo-random order (str hash is salted per process, so not `hash`)."""
    value = 0
    for char in word:
        value = (value * 131 + ord(char)) % 1_000_003
    return value


WORDS, CUMULATIVE = _build_vocabulary()

TOPICS = [
    "what the research says", "questions to ask your clinician", "risks and side effects",
    "costs and access", "what recovery looks like", "long-term outcomes", "who may be eligible",
    "how clinical trials work", "the evidence so far", "living with the condition",
    "fatigue and daily life", "pregnancy and family planning", "children and teenagers",
    "older adults", "travelling abroad for treatment", "choosing a centre",
    "how it compares with standard care", "after the procedure", "diet and exercise",
    "understanding relapse", "what happens during treatment", "a guide for carers",
]  # fmt: skip
TITLE_TEMPLATES = [
    "{Therapy} for {disease}: {topic}",
    "{Disease} and {therapy}: {topic}",
    "{Topic}: {therapy} in {disease}",
    "Can {therapy} help with {disease}?",
    "{Disease_alias}: {topic}",
    "What to expect from {therapy} for {disease}",
    "{Therapy_alias} in {disease_alias}: {topic}",
    "A plain guide to {therapy} and {disease}",
]
SUMMARY_TEMPLATES = [
    "An overview of {therapy} for people with {disease}: {topic}, and what is still uncertain.",
    "How {therapy} is being studied in {disease}, with a focus on {topic}.",
    "What people with {disease} should know about {therapy}: {topic}.",
    "{Disease} is a long-term condition; this article looks at {therapy} and {topic}.",
]
SENTENCE_TEMPLATES = [
    "{Disease} is a condition in which the immune system attacks the body's own {organ}.",
    "People with {disease} sometimes ask whether {therapy} could help them.",
    "{Therapy} has been studied in {disease} for several years, mostly in small trials.",
    "Some clinics market {therapy_alias} for {disease_alias}, but the evidence is limited.",
    "A specialist can explain how {therapy} compares with {other_therapy} for {disease}.",
    "In {disease_alias}, the aim of treatment is to reduce inflammation and protect the {organ}.",
    "Researchers are still learning which people with {disease} benefit most from {therapy}.",
    "The risks of {therapy} include infection, tiredness and, rarely, serious complications.",
    "{Therapy_alias} is not the same as {other_therapy}, although the two are often confused.",
    "Anyone considering {therapy} should ask whether it is offered within a registered trial.",
    "Standard care for {disease} often includes {other_therapy} and regular monitoring.",
    "The {organ} can be affected early in {disease}, before symptoms are obvious.",
    "Guidelines describe {therapy} as an option for {disease} only in selected cases.",
    "Follow-up after {therapy} usually lasts months and involves blood tests and scans.",
    "Many people with {disease_alias} live full lives with the right support and treatment.",
    "Terms such as {alias_a} and {alias_b} describe the same or closely related ideas.",
]
HEADINGS = [
    "Background", "How the treatment works", "Who might benefit", "Risks and side effects",
    "What the evidence shows", "Questions to ask", "Costs and access", "Recovery",
    "Living with the condition", "Key points", "Standard treatments", "Clinical trials",
]  # fmt: skip
ORGANS = [
    "joints", "skin", "nerves", "myelin", "pancreas", "gut", "kidneys", "lungs",
    "blood vessels", "connective tissue", "peripheral nerves", "bowel lining",
]  # fmt: skip


@dataclass
class Taxonomy:
    diseases: list[Disease]
    therapies: list[Therapy]
    tags: list[Tag]

    @classmethod
    def load(cls) -> Taxonomy:
        taxonomy = cls(
            diseases=list(Disease.objects.order_by("slug")),
            therapies=list(Therapy.objects.order_by("slug")),
            tags=list(Tag.objects.order_by("slug")),
        )
        if not (taxonomy.diseases and taxonomy.therapies and taxonomy.tags):
            raise CommandError(
                "The taxonomy is not loaded: generated articles link to the shipped diseases, "
                "therapies and tags. Run `python manage.py loaddata taxonomy` first."
            )
        return taxonomy


@dataclass
class GeneratedArticle:
    fields: dict
    diseases: list[Disease]
    therapies: list[Therapy]
    tags: list[Tag]


class ArticleFactory:
    """Builds article *i* of a seed; independent of every other article."""

    def __init__(self, taxonomy: Taxonomy, seed: int) -> None:
        self.taxonomy = taxonomy
        self.seed = seed
        # Some diseases and therapies are written about far more than others.
        self.disease_weights = [1 / (rank + 1) for rank in range(len(taxonomy.diseases))]
        self.therapy_weights = [1 / (rank + 1) for rank in range(len(taxonomy.therapies))]
        self.tag_weights = [1 / (rank + 1) ** 0.8 for rank in range(len(taxonomy.tags))]
        # A fixed, seed-independent shuffle decides which are the popular ones.
        order = random.Random(7)
        order.shuffle(self.disease_weights)
        order.shuffle(self.therapy_weights)
        order.shuffle(self.tag_weights)
        self.span_days = (LAST_DAY - FIRST_DAY).days

    def build(self, i: int) -> GeneratedArticle:
        rng = random.Random(f"{self.seed}:{i}")
        tax = self.taxonomy
        diseases = _sample(rng, tax.diseases, self.disease_weights, rng.choice((1, 1, 1, 2)))
        therapies = _sample(rng, tax.therapies, self.therapy_weights, rng.choice((1, 1, 2, 2, 3)))
        tags = _sample(rng, tax.tags, self.tag_weights, rng.randint(2, 5))
        names = self._names(rng, diseases, therapies)

        topic = rng.choice(TOPICS)
        title = _capitalise(rng.choice(TITLE_TEMPLATES).format(topic=topic, Topic=topic, **names))
        summary = _capitalise(rng.choice(SUMMARY_TEMPLATES).format(topic=topic, **names))
        body = self._body(rng, diseases, therapies, target_words=_clamp(rng.gauss(800, 120)))
        published_on = FIRST_DAY + datetime.timedelta(days=rng.randrange(self.span_days + 1))
        status = Article.Status.DRAFT if rng.random() < DRAFT_RATIO else Article.Status.PUBLISHED
        slug = f"{SLUG_PREFIX}{self.seed}-{i}-{slugify(title)}"[:300].rstrip("-")
        fields = {
            "title": title[:300],
            "slug": slug,
            "summary": summary,
            "body": body,
            "status": status,
            "published_on": published_on,
            "source_name": SOURCE_NAME,
            "source_url": "",
        }
        return GeneratedArticle(fields, diseases, therapies, tags)

    def _names(self, rng: random.Random, diseases, therapies) -> dict[str, str]:
        disease, therapy = diseases[0], therapies[0]
        others = [t for t in self.taxonomy.therapies if t not in therapies] or therapies
        disease_alias = rng.choice([disease.name, *disease.alias_list])
        therapy_alias = rng.choice([therapy.name, *therapy.alias_list])
        names = {
            "disease": _lower_name(disease.name),
            "therapy": _lower_name(therapy.name),
            "disease_alias": _lower_name(disease_alias),
            "therapy_alias": _lower_name(therapy_alias),
            "other_therapy": _lower_name(rng.choice(others).name),
        }
        names.update({key.capitalize(): _capitalise(value) for key, value in list(names.items())})
        return names

    def _body(self, rng: random.Random, diseases, therapies, target_words: int) -> str:
        headings = rng.sample(HEADINGS, k=rng.randint(4, 6))
        per_section = target_words // len(headings)
        parts = []
        listed = False  # one section opens with a bulleted list
        for number, heading in enumerate(headings):
            parts.append(f"## {heading}")
            section = 0
            while section < per_section:
                sentences = []
                for _ in range(rng.randint(3, 7)):
                    sentences.append(self._sentence(rng, diseases, therapies))
                    section += sentences[-1].count(" ") + 1
                    if section >= per_section:
                        break
                if number == 2 and not listed:
                    listed = True
                    parts.append("\n".join(f"- {sentence}" for sentence in sentences))
                else:
                    parts.append(" ".join(sentences))
        return "\n\n".join(parts)

    def _sentence(self, rng: random.Random, diseases, therapies) -> str:
        if rng.random() < 0.45:
            disease = rng.choice(diseases)
            therapy = rng.choice(therapies)
            names = self._names(rng, [disease], [therapy])
            aliases = disease.alias_list + therapy.alias_list or [disease.name, therapy.name]
            alias_a, alias_b = rng.choice(aliases), rng.choice([disease.name, therapy.name])
            sentence = rng.choice(SENTENCE_TEMPLATES).format(
                organ=rng.choice(ORGANS), alias_a=alias_a, alias_b=alias_b, **names
            )
            return _capitalise(sentence)
        words = rng.choices(WORDS, cum_weights=CUMULATIVE, k=rng.randint(7, 22))
        if rng.random() < 0.25:
            words.insert(rng.randrange(len(words)), f"**{rng.choice(words)}**")
        return _capitalise(" ".join(words)) + "."


def _sample(rng: random.Random, population: list, weights: list[float], k: int) -> list:
    """k distinct items, drawn with weights."""
    k = min(k, len(population))
    chosen: list = []
    while len(chosen) < k:
        item = rng.choices(population, weights=weights)[0]
        if item not in chosen:
            chosen.append(item)
    return chosen


def _clamp(value: float) -> int:
    return int(min(1200, max(500, value)))


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower_name(name: str) -> str:
    """Lower-case a common noun but keep abbreviations and proper names ("HSCT", "Crohn's")."""
    name = name.split(" (")[0]  # "Lupus (systemic lupus erythematosus)" reads as "lupus"
    first, _, rest = name.partition(" ")
    if first[:1].isupper() and first[1:].islower() and first not in {"Crohn's", "Guillain-Barré"}:
        first = first.lower()
    return f"{first} {rest}".strip()


# --- The command --------------------------------------------------------------


class Command(BaseCommand):
    help = (
        "Generate N deterministic synthetic articles linked to the shipped taxonomy "
        "(for benchmarks and trying the site at scale), or write them as a fixture."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--count", type=int, default=1000, help="How many articles.")
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same articles.")
        parser.add_argument(
            "--batch-size", type=int, default=1000, help="Rows per bulk insert (default 1000)."
        )
        parser.add_argument(
            "--fixture",
            metavar="PATH",
            help="Write the articles to PATH in the public fixture format instead of inserting.",
        )
        parser.add_argument(
            "--index",
            action="store_true",
            help="Run `rebuild_index` afterwards (inserting sends no signals).",
        )

    def handle(self, *args, count: int, seed: int, batch_size: int, fixture, index, **options):
        if count < 0:
            raise CommandError("--count must be zero or more.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        factory = ArticleFactory(Taxonomy.load(), seed)
        started = time.perf_counter()
        if fixture:
            self._write_fixture(factory, count, Path(fixture))
            self._report(options, f"Wrote {count} synthetic articles to {fixture}", started)
            return
        self._check_free(seed, count)
        self._insert(factory, count, batch_size, options["verbosity"])
        self._report(options, f"Created {count} synthetic articles (seed {seed})", started)
        if index:
            call_command("rebuild_index", verbosity=options["verbosity"])
        elif options["verbosity"] > 0:
            self.stdout.write(
                "The search index does not follow bulk inserts: "
                "run `python manage.py rebuild_index` (or pass --index)."
            )

    def _report(self, options, message: str, started: float) -> None:
        if options["verbosity"] > 0:
            elapsed = time.perf_counter() - started
            self.stdout.write(self.style.SUCCESS(f"{message} in {elapsed:.1f} s."))

    def _check_free(self, seed: int, count: int) -> None:
        prefix = f"{SLUG_PREFIX}{seed}-"
        if count and Article.objects.filter(slug__startswith=prefix).exists():
            raise CommandError(
                f"Synthetic articles of seed {seed} already exist (slugs {prefix}…). "
                "Use another --seed, or delete them first."
            )

    def _insert(self, factory: ArticleFactory, count: int, batch_size: int, verbosity: int):
        through = {
            "diseases": (Article.diseases.through, "disease_id"),
            "therapies": (Article.therapies.through, "therapy_id"),
            "tags": (Article.tags.through, "tag_id"),
        }
        now = timezone.now()
        for start in range(0, count, batch_size):
            generated = [factory.build(i) for i in range(start, min(count, start + batch_size))]
            # One transaction per batch keeps SQLite's write-ahead log small at 50,000 rows.
            with transaction.atomic():
                articles = Article.objects.bulk_create(
                    [Article(created_at=now, **item.fields) for item in generated]
                )
                for name, (model, column) in through.items():
                    rows = [
                        model(article_id=article.pk, **{column: term.pk})
                        for article, item in zip(articles, generated, strict=True)
                        for term in getattr(item, name)
                    ]
                    model.objects.bulk_create(rows, batch_size=batch_size * 4)
            if verbosity > 1:
                self.stdout.write(f"  {start + len(generated)} / {count}")

    def _write_fixture(self, factory: ArticleFactory, count: int, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as out:
            out.write("[\n")
            for n, record in enumerate(self._fixture_records(factory, count)):
                out.write(",\n" if n else "")
                out.write(json.dumps(record, ensure_ascii=False))
            out.write("\n]\n")

    def _fixture_records(self, factory: ArticleFactory, count: int) -> Iterator[dict]:
        for i in range(count):
            item = factory.build(i)
            fields = dict(item.fields, published_on=item.fields["published_on"].isoformat())
            fields["diseases"] = [[term.slug] for term in item.diseases]
            fields["therapies"] = [[term.slug] for term in item.therapies]
            fields["tags"] = [[term.slug] for term in item.tags]
            yield {"model": "library.article", "fields": fields}
