"""Loading a curriculum document (``fixtures/basic_course.json``) into courses, modules and assessments.

The document is nested and keyed by codes, not database ids, so that loading it never collides
with rows an administrator has already made and PostgreSQL sequences stay right. The loader takes
a ``get_model`` function so that the data migration can pass its historical models
(``apps.get_model``) and tests and benchmarks the real ones.

Responsible for: validating the document's shape and creating what it describes, updating
existing rows with the same codes. Must never: delete anything, or write an audit entry (callers
that act for a person audit; the migration runs before any person exists).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

FORMAT = "legionary-curriculum/1"
BASIC_COURSE = Path(__file__).parent / "fixtures" / "basic_course.json"


class CurriculumError(ValueError):
    """The curriculum document is malformed; the message names the offending part."""


def read_document(path: Path = BASIC_COURSE) -> dict[str, Any]:
    document = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CurriculumError(f"{path.name} is not a {FORMAT} document.")
    return document


def _need(item: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    value = item.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise CurriculumError(f"{where}: {key!r} must be a {kind.__name__}.")
    return value


def load(document: Mapping[str, Any], get_model: Callable[[str, str], Any]) -> dict[str, int]:
    """Creates or updates everything in ``document``; returns how many rows of each kind it touched."""
    qualification_model = get_model("training", "Qualification")
    course_model = get_model("training", "Course")
    module_model = get_model("training", "Module")
    assessment_model = get_model("training", "Assessment")

    counts = {"qualifications": 0, "courses": 0, "modules": 0, "assessments": 0}
    qualifications: dict[str, Any] = {}
    for item in document.get("qualifications", []):
        code = _need(item, "code", str, "qualification")
        months = item.get("validity_months")
        if months is not None and (not isinstance(months, int) or months < 1):
            raise CurriculumError(f"qualification {code}: validity_months must be a positive whole number or null.")
        qualifications[code], _ = qualification_model.objects.update_or_create(
            code=code, defaults={"name": _need(item, "name", str, code), "validity_months": months}
        )
        counts["qualifications"] += 1
    for row in qualification_model.objects.all():
        qualifications.setdefault(row.code, row)

    def qualification_rows(codes: list[str], where: str) -> list[Any]:
        missing = [c for c in codes if c not in qualifications]
        if missing:
            raise CurriculumError(f"{where}: unknown qualification {missing[0]!r}.")
        return [qualifications[c] for c in codes]

    for course_item in document.get("courses", []):
        course_code = _need(course_item, "code", str, "course")
        course, _ = course_model.objects.update_or_create(
            code=course_code,
            defaults={
                "name": _need(course_item, "name", str, course_code),
                "weeks": _need(course_item, "weeks", int, course_code),
                "min_attendance_percent": course_item.get("min_attendance_percent", 80),
                "description": course_item.get("description", ""),
            },
        )
        counts["courses"] += 1
        for position, module_item in enumerate(course_item.get("modules", []), start=1):
            module_code = _need(module_item, "code", str, course_code)
            where = f"{course_code}/{module_code}"
            module, _ = module_model.objects.update_or_create(
                course=course,
                code=module_code,
                defaults={
                    "name": _need(module_item, "name", str, where),
                    "position": position,
                    "default_week": module_item.get("default_week", 1),
                    "description": module_item.get("description", ""),
                },
            )
            module.grants.set(qualification_rows(module_item.get("grants", []), where))
            module.requires.set(qualification_rows(module_item.get("requires", []), where))
            counts["modules"] += 1
            for a_position, assessment_item in enumerate(module_item.get("assessments", []), start=1):
                a_code = _need(assessment_item, "code", str, where)
                kind = assessment_item.get("kind")
                if kind not in ("written", "practical"):
                    raise CurriculumError(f"{where}/{a_code}: kind must be written or practical.")
                max_score = _need(assessment_item, "max_score", int, a_code)
                pass_mark = _need(assessment_item, "pass_mark", int, a_code)
                if not 0 <= pass_mark <= max_score:
                    raise CurriculumError(f"{where}/{a_code}: the pass mark must lie between 0 and the maximum score.")
                assessment_model.objects.update_or_create(
                    module=module,
                    code=a_code,
                    defaults={
                        "name": _need(assessment_item, "name", str, a_code),
                        "kind": kind,
                        "max_score": max_score,
                        "pass_mark": pass_mark,
                        "position": a_position,
                    },
                )
                counts["assessments"] += 1
    return counts
