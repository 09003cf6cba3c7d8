"""`loaddata`, with the library's fixture files validated before anything is written.

Django's own command saves raw objects without model validation and reports errors by
database id. This subclass checks every JSON fixture of the load first (see
`library.fixtures`), and refuses the whole load with a message naming the file, the
record and the field. Records of the other serialisation formats (XML, YAML) are
validated one by one as they are saved (`save_obj`), since only JSON is read up front.
Everything still happens in Django's single transaction, so a failure leaves the
database exactly as it was.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core import serializers
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.core.management.commands.loaddata import Command as DjangoLoaddataCommand

from library.fixtures import LIBRARY_MODELS, FixtureError, validate_fixture_files
from library.models import remembering_natural_keys


class Command(DjangoLoaddataCommand):
    help = DjangoLoaddataCommand.help + " Library records are validated before loading."

    def loaddata(self, fixture_labels):
        self.serialization_formats = serializers.get_public_serializer_formats()
        paths = []
        for label in fixture_labels:
            if label == "-":
                continue
            for fixture_file, _dir, _name in self.find_fixtures(label):
                _, ser_fmt, cmp_fmt = self.parse_name(os.path.basename(fixture_file))
                if ser_fmt == "json" and cmp_fmt is None:
                    paths.append(Path(fixture_file))
        try:
            validate_fixture_files(paths)
        except FixtureError as error:
            count = len(error.problems)
            raise CommandError(
                f"Nothing was loaded: {count} problem{'s' if count != 1 else ''} found.\n"
                + "\n".join(error.problems)
            ) from None
        with remembering_natural_keys():
            super().loaddata(fixture_labels)

    def save_obj(self, obj):
        """Validate each library record, whatever its format, before its raw save."""
        instance = obj.object
        if instance._meta.label_lower in LIBRARY_MODELS:
            exclude = [
                f.name for f in instance._meta.get_fields() if f.many_to_many or f.auto_created
            ]
            try:
                instance.full_clean(
                    exclude=exclude, validate_unique=False, validate_constraints=False
                )
            except ValidationError as error:
                slug = getattr(instance, "slug", "") or "?"
                problems = [
                    f"{instance._meta.label_lower} (slug “{slug}”): "
                    f"{'record' if name == '__all__' else f'field {name!r}'}: {message}"
                    for name, messages in error.message_dict.items()
                    for message in messages
                ]
                raise CommandError(
                    "Nothing was loaded: the record below is invalid.\n" + "\n".join(problems)
                ) from None
        return super().save_obj(obj)
