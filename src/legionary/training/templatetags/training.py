"""Template helpers of the training pages: the gradebook grid's input names, reading a submitted value back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template

from legionary.training.forms import score_field

register = template.Library()


@register.simple_tag
def score_name(enrolment_id: int, assessment_id: int) -> str:
    return score_field(enrolment_id, assessment_id)


@register.filter
def get_item(mapping: Mapping[str, Any] | None, key: str) -> Any:
    """A submitted value, so a grid sent back with errors keeps what the instructor typed."""
    return None if not mapping else mapping.get(key)
