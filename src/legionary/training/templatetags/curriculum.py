"""Names in the reader's language: ``{{ module.name|shown }}`` (``training.names``), ``{{ cohort.legion|legion }}``."""

from __future__ import annotations

from django import template

from legionary.intake.legions import KNOWN_LEGIONS
from legionary.training.names import shown as _shown

register = template.Library()


@register.filter
def shown(name: str) -> str:
    return _shown(str(name))


@register.filter
def legion(slug: str) -> str:
    """A legion's name in the reader's language (``frl`` → Freedom of Russia Legion); an unknown slug as is."""
    return str(KNOWN_LEGIONS.get(str(slug), slug))
