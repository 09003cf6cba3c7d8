"""Ship the default reader intents (issue 19), and let the Editors group manage intents
and editors' picks.

Each intent lists the words readers use for it, the shipped tags whose articles answer
it and words of the section headings that do. Tags are linked when they exist: on a
library that already holds the shipped taxonomy, at once; on a fresh database (migrated
before its content is loaded), by `fixtures/intents.json`, which `load_shipped_content`
loads after the taxonomy. An intent already present (same slug) is left as editors made it.
The data here is frozen as of this migration: later changes to the defaults belong in a
new migration and the fixture (`tests/search/test_models.py` checks they agree).
"""

from django.db import migrations

DEFAULT_INTENTS = [
    {
        "slug": "safety",
        "label": "safety and side effects",
        "phrases": (
            "safe, safety, unsafe, side effect, side effects, risk, risks, risky, dangerous, "
            "danger, complications, harm, harmful"
        ),
        "headings": "risk, risks, side effects, safe, safety, caution, complications",
        "tags": ["risks-and-side-effects"],
    },
    {
        "slug": "cost",
        "label": "cost and insurance",
        "phrases": (
            "cost, costs, price, expensive, afford, affordable, pay, paying, insurance, "
            "insurer, insured, covered, coverage, funding"
        ),
        "headings": "cost, costs, insurance, price, paying",
        "tags": ["costs-and-insurance"],
    },
    {
        "slug": "eligibility",
        "label": "who it is for",
        "phrases": (
            "right for me, candidate, candidates, qualify, eligible, eligibility, suitable, "
            "good fit, should i have, can i have, can i get, who can have"
        ),
        "headings": (
            "who might benefit, considering, about you, before you decide, making decisions, "
            "what this means for you"
        ),
        "tags": ["questions-for-your-doctor"],
    },
    {
        "slug": "recovery",
        "label": "recovery after treatment",
        "phrases": (
            "recovery, recover, recovering, after treatment, after transplant, aftercare, "
            "time off, return to work, back to work, follow-up"
        ),
        "headings": "recovery, recovering, follow-up, at home, returning to work, day-to-day life",
        "tags": ["recovery-after-treatment"],
    },
    {
        "slug": "success",
        "label": "success and cure",
        "phrases": (
            "cure, cured, cures, curable, work, works, effective, effectiveness, success, "
            "success rate, success rates, remission, outcome, outcomes"
        ),
        "headings": (
            "remission, success, success rate, result, what the research says, current status, "
            "come back, comes back"
        ),
        "tags": [],
    },
    {
        "slug": "trials",
        "label": "clinical trials",
        "phrases": (
            "trial, trials, clinical trial, clinical trials, study, studies, enrol, enroll, "
            "take part, taking part, participate, volunteer"
        ),
        "headings": "trial, trials, clinical trial, taking part",
        "tags": ["clinical-trials"],
    },
    {
        "slug": "clinics",
        "label": "clinics and travel",
        "phrases": (
            "clinic, clinics, abroad, travel, travelling, traveling, overseas, mexico, "
            "medical tourism, legit, legitimate, scam, unproven"
        ),
        "headings": (
            "clinic, clinics, abroad, travelling, warning signs, unregulated, checking a claim"
        ),
        "tags": ["choosing-a-clinic", "travelling-for-treatment"],
    },
    {
        "slug": "approval",
        "label": "approval and regulation",
        "phrases": "approved, approval, fda, licensed, regulated, regulation, legal",
        "headings": "approved, approval, regulates, regulated",
        "tags": ["regulation"],
    },
]

EDITOR_PERMISSIONS = [
    f"{action}_{model}"
    for model in ("intent", "editorspick")
    for action in ("add", "change", "delete", "view")
]


def add_default_intents(apps, schema_editor):
    db = schema_editor.connection.alias
    Intent = apps.get_model("search", "Intent")
    Tag = apps.get_model("library", "Tag")
    for default in DEFAULT_INTENTS:
        fields = {k: v for k, v in default.items() if k not in ("slug", "tags")}
        intent, created = Intent.objects.using(db).get_or_create(
            slug=default["slug"], defaults=fields
        )
        if created:
            intent.tags.set(Tag.objects.using(db).filter(slug__in=default["tags"]))


def editors_manage_intents_and_picks(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    editors = Group.objects.filter(name="Editors").first()
    if editors is not None:
        editors.permissions.add(
            *Permission.objects.filter(
                content_type__app_label="search", codename__in=EDITOR_PERMISSIONS
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0006_intents_and_editors_picks"),
        ("library", "0002_editors_group"),
    ]

    operations = [
        migrations.RunPython(add_default_intents, migrations.RunPython.noop),
        migrations.RunPython(editors_manage_intents_and_picks, migrations.RunPython.noop),
    ]
