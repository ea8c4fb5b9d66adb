"""``legionary access-matrix [--output PATH]``: writes who may do what, as Markdown.

Writes ``docs/access-matrix.md`` (or ``--output``; ``-`` for standard output) from the URL
patterns, the API routes and the access rules (``legionary.access.matrix``). Reads nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser

from legionary.access.matrix import render_markdown
from legionary.commands import LegionaryCommand, UsageError


class Command(LegionaryCommand):
    help = "Write the authorisation matrix (every route x every role) as Markdown."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", default="docs/access-matrix.md", help="file to write, or - for stdout")

    def handle(self, *args: Any, **options: Any) -> None:
        text = render_markdown()
        if options["output"] == "-":
            self.stdout.write(text, ending="")
            return
        target = Path(options["output"])
        if not target.parent.is_dir():
            raise UsageError(
                f"The folder {target.parent} does not exist; run from the project folder or give --output."
            )
        target.write_text(text, encoding="utf-8")
        self.stdout.write(f"wrote {target}")
