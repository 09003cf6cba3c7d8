"""The article form of the admin: "Further reading" as rows of title and address.

The model keeps further reading as JSON, `[{"name": …, "url": …}]`, which is also the
fixture format; editors should not have to type JSON. `FurtherReadingField` shows one
row per link (title, address) plus a few empty rows, reads the rows back into that
list, skips rows left empty, and checks each row with a message naming it.
"""

from __future__ import annotations

import json
import re

from django import forms
from django.core.exceptions import ValidationError

from library.models import Article
from library.validators import validate_web_url

EMPTY_ROWS = 3


def _rows(value) -> list[dict]:
    """The stored value (a list, or its JSON text) as a list of {"name", "url"} rows."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except json.JSONDecodeError:
            return []
    if not isinstance(value, list):
        return []
    return [
        {"name": str(item.get("name", "")), "url": str(item.get("url", ""))}
        for item in value
        if isinstance(item, dict)
    ]


class FurtherReadingWidget(forms.Widget):
    """Rows of two text inputs, `<name>-<n>-name` and `<name>-<n>-url`, in a table."""

    template_name = "admin/library/article/further_reading_widget.html"
    _key = re.compile(r"(?P<index>\d{1,4})-(?:name|url)")

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        filled = [row for row in _rows(value) if row["name"] or row["url"]]
        rows = filled + [{"name": "", "url": ""}] * EMPTY_ROWS
        context["widget"]["rows"] = [
            {"number": number, "prefix": f"{name}-{number - 1}", **row}
            for number, row in enumerate(rows, start=1)
        ]
        return context

    def value_from_datadict(self, data, files, name) -> list[dict]:
        indices = set()
        for key in data:
            if key.startswith(f"{name}-"):
                match = self._key.fullmatch(key[len(name) + 1 :])
                if match:
                    indices.add(int(match["index"]))
        return [
            {
                "name": data.get(f"{name}-{index}-name", "").strip(),
                "url": data.get(f"{name}-{index}-url", "").strip(),
            }
            for index in sorted(indices)
        ]

    def value_omitted_from_data(self, data, files, name) -> bool:
        return not any(key.startswith(f"{name}-") for key in data)

    def id_for_label(self, id_):
        return f"{id_}-0-name" if id_ else id_


class FurtherReadingField(forms.Field):
    """A list of links from rows; an empty row is skipped, a half-filled one refused."""

    widget = FurtherReadingWidget

    def prepare_value(self, value):
        return _rows(value)

    def to_python(self, value) -> list[dict]:
        return [row for row in _rows(value) if row["name"] or row["url"]]

    def validate(self, value: list[dict]) -> None:
        super().validate(value)
        problems = []
        for number, row in enumerate(value, start=1):
            label = f"Link {number}" + (f" (“{row['name']}”)" if row["name"] else "")
            if not row["name"]:
                problems.append(f"{label}: give the title readers will see for {row['url']}.")
            if not row["url"]:
                problems.append(f"{label}: give its web address, starting with https://.")
                continue
            try:
                validate_web_url(row["url"])
            except ValidationError:
                problems.append(
                    f"{label}: “{row['url']}” is not a web address; it must start with "
                    "http:// or https://."
                )
        if problems:
            raise ValidationError(problems)

    def has_changed(self, initial, data) -> bool:
        return self.to_python(initial) != self.to_python(data)


class ArticleAdminForm(forms.ModelForm):
    further_reading = FurtherReadingField(
        required=False,
        label="Further reading",
        help_text=(
            "Where readers can learn more: one organisation’s page per row, with the title "
            "readers see and its address. Empty rows are ignored; save to get more rows. "
            "These organisations did not write the article, so give names, not advice."
        ),
    )

    class Meta:
        model = Article
        # The admin's fieldsets add the other fields (`ModelAdmin.get_form`).
        fields = ["further_reading"]
