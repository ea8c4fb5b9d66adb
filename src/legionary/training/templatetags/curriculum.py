"""``{{ module.name|shown }}``: a curriculum name in the reader's language (``training.names``)."""

from __future__ import annotations

from django import template

from legionary.training.names import shown as _shown

register = template.Library()


@register.filter
def shown(name: str) -> str:
    return _shown(str(name))
