"""Trustworthy content (issue 13): schema for further reading, editor's notes and tag
redirects, and the same content changes for libraries loaded before them.

The data step changes an existing library the way the new shipped fixtures differ from
the old ones: taxonomy aliases, corticosteroids as a therapy of their own, re-filed
articles, tags that duplicated a disease or therapy merged into it (their old URLs
redirect), the site's own articles no longer credited to organisations that did not
write them, invented dates replaced by the day the articles were added, two small
errors fixed and a few sentences made to name the drug classes they are filed under. It is idempotent and only touches rows that exist, and a value an editor
has changed since (a credit, a date, a sentence, a description) is left alone. Articles
it changes get a new `updated_at`, so `update_index` re-indexes them.
"""

import datetime

import library.models
from django.contrib.auth.management import create_permissions
from django.db import migrations, models
from django.utils import timezone


SITE_ADDED_ON = datetime.date(2026, 11, 24)
FIRST_ARTICLE = "stem-cell-therapy-for-autoimmune-diseases"

# Tags that named a disease or therapy: (old tag slug, kind, term slug).
MERGED_TAGS = [
    ("rheumatoid-arthritis", "disease", "rheumatoid-arthritis"),
    ("multiple-sclerosis", "disease", "multiple-sclerosis"),
    ("lupus", "disease", "lupus"),
    ("psoriasis", "disease", "psoriasis"),
    ("crohns-disease", "disease", "crohns-disease"),
    ("type-1-diabetes", "disease", "type-1-diabetes"),
    ("hsct", "therapy", "hsct"),
    ("bone-marrow-transplant", "therapy", "hsct"),
    ("msc-therapy", "therapy", "mesenchymal-stem-cell-therapy"),
]

# Alias changes; a name or description as (shipped value, new value), changed only while unchanged.
TERM_CHANGES = [
    {
        "model": "disease",
        "slug": "lupus",
        "add_aliases": ["lupus"],
        "remove_aliases": [],
        "name": None,
        "description": None,
    },
    {
        "model": "disease",
        "slug": "type-1-diabetes",
        "add_aliases": ["IDDM", "type I diabetes"],
        "remove_aliases": [],
        "name": None,
        "description": None,
    },
    {
        "model": "disease",
        "slug": "guillain-barre-syndrome",
        "add_aliases": [],
        "remove_aliases": ["acute inflammatory demyelinating polyneuropathy", "AIDP"],
        "name": None,
        "description": None,
    },
    {
        "model": "disease",
        "slug": "systemic-sclerosis",
        "add_aliases": ["CREST syndrome"],
        "remove_aliases": [],
        "name": None,
        "description": (
            "A rare long-term autoimmune disease, also called scleroderma, that causes "
            "thickening and hardening of the skin and can affect internal organs such as the "
            "lungs, heart, kidneys and digestive tract.",
            "A rare long-term autoimmune disease, also called scleroderma, that causes "
            "thickening and hardening of the skin and can affect internal organs such as the "
            "lungs, heart, kidneys and digestive tract. CREST syndrome is an older name for "
            "limited cutaneous systemic sclerosis, one form of the disease.",
        ),
    },
    {
        "model": "therapy",
        "slug": "hsct",
        "add_aliases": [
            "haemopoietic stem cell transplantation",
            "PBSCT",
            "peripheral blood stem cell transplantation",
        ],
        "remove_aliases": [],
        "name": None,
        "description": None,
    },
    {
        "model": "therapy",
        "slug": "anti-inflammatory-drugs",
        "add_aliases": [
            "NSAID",
            "nonsteroidal anti-inflammatory drugs",
            "anti-inflammatory painkillers",
        ],
        "remove_aliases": [
            "anti-inflammatories",
            "corticosteroids",
            "steroids",
            "anti-inflammatory medicines",
        ],
        "name": ("Anti-inflammatory drugs", "NSAIDs (non-steroidal anti-inflammatory drugs)"),
        "description": (
            "Medicines that reduce inflammation, such as non-steroidal anti-inflammatory "
            "drugs (NSAIDs) and corticosteroids. They can ease pain and swelling but "
            "generally do not change the underlying course of an autoimmune disease on their "
            "own.",
            "Medicines such as ibuprofen and naproxen that ease pain, stiffness and "
            "swelling. They do not change the underlying course of an autoimmune disease, "
            "and they are not suitable for everyone, for example some people with stomach, "
            "kidney or heart problems. Corticosteroids are a separate group of medicines.",
        ),
    },
]

CORTICOSTEROIDS = {
    "name": "Corticosteroids",
    "slug": "corticosteroids",
    "aliases": "glucocorticoids\nsteroids\nprednisolone",
    "description": "Medicines, such as prednisolone, that work like hormones the body makes in the "
    "adrenal glands: they reduce inflammation and suppress the immune system. They act "
    "quickly and are widely used for flares of autoimmune diseases; because long-term "
    "use can cause significant side effects, doctors aim for the lowest dose for the "
    "shortest time.",
}

# (article slug, field, slugs to add, slugs to remove)
REFILE = [
    (
        "stem-cell-research-in-multiple-sclerosis",
        "therapies",
        ["corticosteroids"],
        ["anti-inflammatory-drugs", "immunosuppressants"],
    ),
    ("stem-cell-approaches-in-rheumatoid-arthritis", "therapies", ["corticosteroids"], []),
    (
        "stem-cell-therapy-research-in-lupus",
        "therapies",
        ["corticosteroids"],
        ["anti-inflammatory-drugs"],
    ),
    (
        "psoriasis-and-stem-cell-research",
        "therapies",
        ["corticosteroids"],
        ["anti-inflammatory-drugs"],
    ),
    (
        "crohns-disease-and-stem-cell-therapy",
        "therapies",
        ["corticosteroids"],
        ["anti-inflammatory-drugs"],
    ),
    (
        "guillain-barre-syndrome-standard-care-and-stem-cell-research",
        "therapies",
        [],
        ["anti-inflammatory-drugs", "hsct", "immunosuppressants"],
    ),
    (
        "hematopoietic-stem-cell-transplantation-what-it-involves",
        "therapies",
        [],
        ["immunosuppressants"],
    ),
    ("immunosuppressants-in-autoimmune-disease", "diseases", [], ["multiple-sclerosis"]),
    ("anti-inflammatory-drugs-nsaids-and-corticosteroids", "diseases", [], ["psoriasis"]),
    (
        "anti-inflammatory-drugs-nsaids-and-corticosteroids",
        "therapies",
        ["corticosteroids"],
        ["immunosuppressants"],
    ),
]

# The credits the site's own articles carried: cleared only while unchanged.
OLD_SOURCES = {
    "stem-cell-research-in-multiple-sclerosis": (
        "National Multiple Sclerosis Society (patient organization); consult a neurologist",
        "https://www.nationalmssociety.org/",
    ),
    "stem-cell-approaches-in-rheumatoid-arthritis": (
        "General overview; consult a rheumatologist",
        "https://medlineplus.gov/",
    ),
    "stem-cell-therapy-research-in-lupus": (
        "Lupus Foundation of America (patient organization); consult a rheumatologist",
        "https://www.lupus.org/",
    ),
    "psoriasis-and-stem-cell-research": (
        "National Psoriasis Foundation (patient organization); consult a dermatologist",
        "https://www.psoriasis.org/",
    ),
    "type-1-diabetes-and-stem-cell-research": (
        "ClinicalTrials.gov (registered clinical trials)",
        "https://clinicaltrials.gov/",
    ),
    "crohns-disease-and-stem-cell-therapy": (
        "Crohn's & Colitis Foundation (patient organization); consult a gastroenterologist",
        "https://www.crohnscolitisfoundation.org/",
    ),
    "guillain-barre-syndrome-standard-care-and-stem-cell-research": (
        "National Institute of Neurological Disorders and Stroke (NINDS)",
        "https://www.ninds.nih.gov/",
    ),
    "systemic-sclerosis-scleroderma-and-stem-cell-transplantation": (
        "General overview; consult a rheumatologist",
        "https://medlineplus.gov/",
    ),
    "hematopoietic-stem-cell-transplantation-what-it-involves": (
        "ClinicalTrials.gov (registered clinical trials); consult a transplant specialist",
        "https://clinicaltrials.gov/",
    ),
    "mesenchymal-stem-cell-therapy-explained": (
        "U.S. Food and Drug Administration (consumer information on stem cell products)",
        "https://www.fda.gov/",
    ),
    "umbilical-cord-blood-therapy-uses-research-and-limits": (
        "MedlinePlus (U.S. National Library of Medicine); consult a hematologist",
        "https://medlineplus.gov/",
    ),
    "immunosuppressants-in-autoimmune-disease": (
        "MedlinePlus (U.S. National Library of Medicine); consult your specialist or pharmacist",
        "https://medlineplus.gov/",
    ),
    "anti-inflammatory-drugs-nsaids-and-corticosteroids": (
        "NHS (medicines information); consult your doctor or pharmacist",
        "https://www.nhs.uk/",
    ),
    "unproven-stem-cell-clinics-how-to-protect-yourself": (
        "International Society for Stem Cell Research (ISSCR) patient resources",
        "https://www.isscr.org/",
    ),
}

FURTHER_READING = {
    "stem-cell-research-in-multiple-sclerosis": [
        {
            "name": "National Multiple Sclerosis Society",
            "url": "https://www.nationalmssociety.org/",
        },
        {"name": "MS Society (UK)", "url": "https://www.mssociety.org.uk/"},
        {"name": "ClinicalTrials.gov", "url": "https://clinicaltrials.gov/"},
    ],
    "stem-cell-approaches-in-rheumatoid-arthritis": [
        {
            "name": "MedlinePlus (U.S. National Library of Medicine)",
            "url": "https://medlineplus.gov/",
        },
        {"name": "NHS (UK National Health Service)", "url": "https://www.nhs.uk/"},
        {"name": "ClinicalTrials.gov", "url": "https://clinicaltrials.gov/"},
    ],
    "stem-cell-therapy-research-in-lupus": [
        {"name": "Lupus Foundation of America", "url": "https://www.lupus.org/"},
        {
            "name": "MedlinePlus (U.S. National Library of Medicine)",
            "url": "https://medlineplus.gov/",
        },
        {"name": "ClinicalTrials.gov", "url": "https://clinicaltrials.gov/"},
    ],
    "psoriasis-and-stem-cell-research": [
        {"name": "National Psoriasis Foundation", "url": "https://www.psoriasis.org/"},
        {"name": "NHS (UK National Health Service)", "url": "https://www.nhs.uk/"},
    ],
    "type-1-diabetes-and-stem-cell-research": [
        {
            "name": "MedlinePlus (U.S. National Library of Medicine)",
            "url": "https://medlineplus.gov/",
        },
        {"name": "NHS (UK National Health Service)", "url": "https://www.nhs.uk/"},
        {"name": "ClinicalTrials.gov", "url": "https://clinicaltrials.gov/"},
    ],
    "crohns-disease-and-stem-cell-therapy": [
        {"name": "Crohn's & Colitis Foundation", "url": "https://www.crohnscolitisfoundation.org/"},
        {"name": "Crohn's & Colitis UK", "url": "https://crohnsandcolitis.org.uk/"},
        {"name": "ClinicalTrials.gov", "url": "https://clinicaltrials.gov/"},
    ],
    "guillain-barre-syndrome-standard-care-and-stem-cell-research": [
        {
            "name": "National Institute of Neurological Disorders and Stroke (NINDS)",
            "url": "https://www.ninds.nih.gov/",
        },
        {"name": "GBS|CIDP Foundation International", "url": "https://www.gbs-cidp.org/"},
        {"name": "NHS (UK National Health Service)", "url": "https://www.nhs.uk/"},
    ],
    "systemic-sclerosis-scleroderma-and-stem-cell-transplantation": [
        {
            "name": "MedlinePlus (U.S. National Library of Medicine)",
            "url": "https://medlineplus.gov/",
        },
        {"name": "ClinicalTrials.gov", "url": "https://clinicaltrials.gov/"},
    ],
    "hematopoietic-stem-cell-transplantation-what-it-involves": [
        {"name": "ClinicalTrials.gov", "url": "https://clinicaltrials.gov/"},
        {
            "name": "MedlinePlus (U.S. National Library of Medicine)",
            "url": "https://medlineplus.gov/",
        },
        {
            "name": "European Society for Blood and Marrow Transplantation (EBMT)",
            "url": "https://www.ebmt.org/",
        },
    ],
    "mesenchymal-stem-cell-therapy-explained": [
        {"name": "U.S. Food and Drug Administration (FDA)", "url": "https://www.fda.gov/"},
        {
            "name": "International Society for Stem Cell Research (ISSCR)",
            "url": "https://www.isscr.org/",
        },
        {"name": "ClinicalTrials.gov", "url": "https://clinicaltrials.gov/"},
    ],
    "umbilical-cord-blood-therapy-uses-research-and-limits": [
        {
            "name": "MedlinePlus (U.S. National Library of Medicine)",
            "url": "https://medlineplus.gov/",
        },
        {"name": "NHS (UK National Health Service)", "url": "https://www.nhs.uk/"},
    ],
    "immunosuppressants-in-autoimmune-disease": [
        {
            "name": "MedlinePlus (U.S. National Library of Medicine)",
            "url": "https://medlineplus.gov/",
        },
        {"name": "NHS (UK National Health Service)", "url": "https://www.nhs.uk/"},
    ],
    "anti-inflammatory-drugs-nsaids-and-corticosteroids": [
        {"name": "NHS (UK National Health Service)", "url": "https://www.nhs.uk/"},
        {
            "name": "MedlinePlus (U.S. National Library of Medicine)",
            "url": "https://medlineplus.gov/",
        },
    ],
    "unproven-stem-cell-clinics-how-to-protect-yourself": [
        {
            "name": "International Society for Stem Cell Research (ISSCR)",
            "url": "https://www.isscr.org/",
        },
        {"name": "U.S. Food and Drug Administration (FDA)", "url": "https://www.fda.gov/"},
        {"name": "ClinicalTrials.gov", "url": "https://clinicaltrials.gov/"},
    ],
}

# Invented dates, replaced by the day the articles were added only while unchanged.
OLD_DATES = {
    "stem-cell-therapy-for-autoimmune-diseases": "2025-05-01",
    "stem-cell-research-in-multiple-sclerosis": "2025-03-12",
    "stem-cell-approaches-in-rheumatoid-arthritis": "2024-11-18",
    "stem-cell-therapy-research-in-lupus": "2025-01-21",
    "psoriasis-and-stem-cell-research": "2024-09-09",
    "type-1-diabetes-and-stem-cell-research": "2025-04-08",
    "crohns-disease-and-stem-cell-therapy": "2024-12-03",
    "guillain-barre-syndrome-standard-care-and-stem-cell-research": "2024-07-16",
    "systemic-sclerosis-scleroderma-and-stem-cell-transplantation": "2025-02-14",
    "hematopoietic-stem-cell-transplantation-what-it-involves": "2025-05-20",
    "mesenchymal-stem-cell-therapy-explained": "2024-10-07",
    "umbilical-cord-blood-therapy-uses-research-and-limits": "2024-08-22",
    "immunosuppressants-in-autoimmune-disease": "2024-06-11",
    "anti-inflammatory-drugs-nsaids-and-corticosteroids": "2024-05-14",
    "unproven-stem-cell-clinics-how-to-protect-yourself": "2025-06-03",
}

EDITOR_NOTE = (
    "This article is reproduced word for word from its source, NestFact. Some points in it need "
    "context:\n"
    "\n"
    "- In autoimmune disease, hematopoietic stem cell transplantation (HSCT) usually uses the "
    "patient's own stem cells (an autologous transplant) rather than cells from a donor. [What HSCT "
    "involves](/articles/hematopoietic-stem-cell-transplantation-what-it-involves/) explains the "
    "steps.\n"
    "- Guillain-Barré syndrome is a rare condition, not one of the most common autoimmune diseases.\n"
    "- The side effects of mesenchymal stem cell (MSC) therapy are still being studied; it has not "
    "been shown to avoid the side effects of standard immunosuppressants.\n"
    "- For most autoimmune diseases, stem cell treatments are still experimental, and those offered "
    "outside clinical trials and established specialist programs may be unproven. [Unproven stem cell "
    "clinics: how to protect yourself](/articles/unproven-stem-cell-clinics-how-to-protect-yourself/) "
    "explains what to look out for."
)

# (article slug, shipped wording, corrected wording)
BODY_EDITS = [
    (
        "type-1-diabetes-and-stem-cell-research",
        "**Islet transplantation** from deceased donors is a related, established procedure in some countries "
        "for a small group of people with severe, hard-to-manage low blood glucose. It also requires lifelong immunosuppression.",
        "**Islet transplantation** is a different procedure and not a stem cell treatment: insulin-producing "
        "cells are taken from the pancreas of a deceased donor and transplanted. In some countries it is offered, "
        "outside research, to a small group of people with severe, hard-to-manage low blood glucose. It requires "
        "lifelong immunosuppression.",
    ),
    (
        "type-1-diabetes-and-stem-cell-research",
        "- These approaches are experimental and available only in registered clinical trials.",
        "- The stem cell approaches described here are experimental and available only in registered clinical trials.",
    ),
    (
        "immunosuppressants-in-autoimmune-disease",
        "- **azathioprine** and **mycophenolate**, used in lupus, Crohn's disease, systemic sclerosis and other conditions",
        "- **azathioprine**, used in lupus, Crohn's disease and other conditions\n"
        "- **mycophenolate**, used in lupus, systemic sclerosis and other conditions",
    ),
    (
        "stem-cell-approaches-in-rheumatoid-arthritis",
        "- disease-modifying antirheumatic drugs (DMARDs) such as methotrexate, which calm the immune system over weeks to months",
        "- disease-modifying antirheumatic drugs (DMARDs) such as methotrexate, an immunosuppressant, which calm the immune system over weeks to months",
    ),
    (
        "stem-cell-approaches-in-rheumatoid-arthritis",
        "- anti-inflammatory drugs and short courses of corticosteroids to ease pain and swelling",
        "- non-steroidal anti-inflammatory drugs (NSAIDs) and short courses of corticosteroids to ease pain and swelling",
    ),
    (
        "psoriasis-and-stem-cell-research",
        "- topical treatments such as moisturizers, vitamin D analogues and steroid creams",
        "- topical treatments such as moisturizers, vitamin D analogues and corticosteroid (steroid) creams",
    ),
    (
        "psoriasis-and-stem-cell-research",
        "- systemic medicines such as methotrexate or ciclosporin, which act on the whole immune system",
        "- systemic medicines such as methotrexate or ciclosporin, immunosuppressants that act on the whole immune system",
    ),
    (
        "umbilical-cord-blood-therapy-uses-research-and-limits",
        "Cord blood is a recognized source of stem cells for transplantation.",
        "Cord blood is a recognized source of stem cells for hematopoietic stem cell transplantation.",
    ),
    (
        "unproven-stem-cell-clinics-how-to-protect-yourself",
        "- use cells that are poorly prepared, contaminated or not what they claim to be\n",
        "- use cells that are poorly prepared, contaminated or not what they claim to be\n"
        "- describe their products loosely, for example as mesenchymal stem cells (MSCs) or umbilical cord "
        "blood cells, without saying how they are obtained and prepared\n",
    ),
]


def _split(aliases):
    return [line.strip() for line in (aliases or "").splitlines() if line.strip()]


def _change_terms(apps, touched):
    models = {
        "disease": apps.get_model("library", "Disease"),
        "therapy": apps.get_model("library", "Therapy"),
    }
    for change in TERM_CHANGES:
        term = models[change["model"]].objects.filter(slug=change["slug"]).first()
        if term is None:
            continue
        removed = {alias.casefold() for alias in change["remove_aliases"]}
        aliases = [a for a in _split(term.aliases) if a.casefold() not in removed]
        present = {a.casefold() for a in aliases}
        aliases += [a for a in change["add_aliases"] if a.casefold() not in present]
        fields = {"aliases": "\n".join(aliases)}
        for field in ("name", "description"):
            if change[field] and getattr(term, field) == change[field][0]:
                if (
                    field == "name"
                    and models[change["model"]].objects.filter(name=change[field][1]).exists()
                ):
                    continue
                fields[field] = change[field][1]
        if any(getattr(term, f) != v for f, v in fields.items()):
            models[change["model"]].objects.filter(pk=term.pk).update(**fields)
            touched.update(term.articles.values_list("pk", flat=True))
    Therapy = models["therapy"]
    if Therapy.objects.filter(slug="anti-inflammatory-drugs").exists():
        exists = (
            Therapy.objects.filter(slug=CORTICOSTEROIDS["slug"]).exists()
            or Therapy.objects.filter(name=CORTICOSTEROIDS["name"]).exists()
        )
        if not exists:
            Therapy.objects.create(**CORTICOSTEROIDS)


def _refile(apps, touched):
    Article = apps.get_model("library", "Article")
    targets = {
        "diseases": apps.get_model("library", "Disease"),
        "therapies": apps.get_model("library", "Therapy"),
    }
    for slug, field, add, remove in REFILE:
        article = Article.objects.filter(slug=slug).first()
        if article is None:
            continue
        relation = getattr(article, field)
        before = set(relation.values_list("pk", flat=True))
        relation.remove(*relation.filter(slug__in=remove))
        relation.add(*targets[field].objects.filter(slug__in=add))
        if set(relation.values_list("pk", flat=True)) != before:
            touched.add(article.pk)


def _merge_tags(apps, touched):
    Tag = apps.get_model("library", "Tag")
    TagRedirect = apps.get_model("library", "TagRedirect")
    models = {
        "disease": apps.get_model("library", "Disease"),
        "therapy": apps.get_model("library", "Therapy"),
    }
    for tag_slug, kind, term_slug in MERGED_TAGS:
        tag = Tag.objects.filter(slug=tag_slug).first()
        term = models[kind].objects.filter(slug=term_slug).first()
        if tag is not None and term is not None:
            field = "diseases" if kind == "disease" else "therapies"
            for article in tag.articles.all():
                getattr(article, field).add(term)
                touched.add(article.pk)
            tag.delete()
        # Also on a library not loaded yet: its old tag URLs redirect once the terms exist.
        if not Tag.objects.filter(slug=tag_slug).exists():
            TagRedirect.objects.get_or_create(
                old_slug=tag_slug, defaults={"target_kind": kind, "target_slug": term_slug}
            )


def _credits_dates_and_text(apps, touched):
    Article = apps.get_model("library", "Article")
    for article in Article.objects.filter(slug__in=OLD_DATES):
        fields = {}
        if (
            article.slug in OLD_SOURCES
            and (article.source_name, article.source_url) == OLD_SOURCES[article.slug]
        ):
            fields.update(source_name="", source_url="")
        if not article.further_reading and article.slug in FURTHER_READING:
            fields["further_reading"] = FURTHER_READING[article.slug]
        if article.published_on.isoformat() == OLD_DATES[article.slug]:
            fields["published_on"] = SITE_ADDED_ON
        if article.slug == FIRST_ARTICLE and not article.editor_note:
            fields["editor_note"] = EDITOR_NOTE
        body = article.body
        for slug, old, new in BODY_EDITS:
            if slug == article.slug and old in body and new not in body:
                body = body.replace(old, new)
        if body != article.body:
            fields["body"] = body
        if fields:
            Article.objects.filter(pk=article.pk).update(**fields)
            touched.add(article.pk)


def let_editors_keep_tag_redirects(apps, schema_editor):
    """Editors (migration 0002) may also manage the redirects of merged tags."""
    # Permissions are normally created after migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    editors = apps.get_model("auth", "Group").objects.filter(name="Editors").first()
    if editors is not None:
        editors.permissions.add(
            *apps.get_model("auth", "Permission").objects.filter(
                content_type__app_label="library", codename__endswith="_tagredirect"
            )
        )


def make_content_trustworthy(apps, schema_editor):
    touched = set()
    _change_terms(apps, touched)
    _refile(apps, touched)
    _merge_tags(apps, touched)
    _credits_dates_and_text(apps, touched)
    if touched:
        apps.get_model("library", "Article").objects.filter(pk__in=touched).update(
            updated_at=timezone.now()
        )


class Migration(migrations.Migration):
    dependencies = [
        ("library", "0002_editors_group"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.CreateModel(
            name="TagRedirect",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("old_slug", models.SlugField(max_length=100, unique=True)),
                (
                    "target_kind",
                    models.CharField(
                        choices=[("disease", "Disease"), ("therapy", "Therapy")], max_length=10
                    ),
                ),
                ("target_slug", models.SlugField(max_length=200)),
            ],
            options={
                "ordering": ["old_slug"],
            },
        ),
        migrations.AddField(
            model_name="article",
            name="editor_note",
            field=models.TextField(
                blank=True,
                help_text="Markdown, shown above the body and never searched: context an editor adds to a text carried over word for word from its source.",
            ),
        ),
        migrations.AddField(
            model_name="article",
            name="further_reading",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text='Where readers can learn more, as a list: [{"name": "NHS", "url": "https://www.nhs.uk/"}]. Names only, no advice; these organisations did not write the article.',
                validators=[library.models.validate_further_reading],
            ),
        ),
        migrations.RunPython(let_editors_keep_tag_redirects, migrations.RunPython.noop),
        migrations.RunPython(make_content_trustworthy, migrations.RunPython.noop),
    ]
