"""`review_report`: articles whose medical review is overdue, due soon or never done.

The same list as the admin's "medical review" filter, for editors who prefer it by
e-mail or from cron. Exits 0 always: a report is not a failure (use `--fail-overdue`
to make cron notice).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.formats import date_format

from library.models import REVIEW_SOON_DAYS, Article


class Command(BaseCommand):
    help = "List articles overdue for medical review, due within 30 days, or never reviewed."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--include-drafts", action="store_true", help="Drafts too (default: published only)."
        )
        parser.add_argument(
            "--fail-overdue", action="store_true", help="Exit 1 when any article is overdue."
        )

    def handle(self, *args, include_drafts: bool = False, fail_overdue: bool = False, **options):
        articles = Article.objects.all() if include_drafts else Article.objects.published()
        articles = articles.only(
            "title", "slug", "last_reviewed_on", "reviewed_by", "next_review_due"
        )
        sections = [
            ("Overdue for review", articles.review_overdue().order_by("next_review_due", "title")),
            (
                f"Due within {REVIEW_SOON_DAYS} days",
                articles.review_due_soon().order_by("next_review_due", "title"),
            ),
            ("Never reviewed", articles.never_reviewed().order_by("title")),
        ]
        overdue = 0
        for heading, rows in sections:
            rows = list(rows)
            if heading.startswith("Overdue"):
                overdue = len(rows)
            self.stdout.write(f"{heading}: {len(rows)}")
            for article in rows:
                line = f"  {article.slug}  {article.title}"
                if article.next_review_due:
                    line += f"  (due {date_format(article.next_review_due, 'j M Y')}"
                    if article.last_reviewed_on:
                        line += f"; last reviewed {date_format(article.last_reviewed_on, 'j M Y')}"
                        if article.reviewed_by:
                            line += f" by {article.reviewed_by}"
                    line += ")"
                self.stdout.write(line)
        if fail_overdue and overdue:
            raise CommandError(f"{overdue} article(s) overdue for review.", returncode=1)
