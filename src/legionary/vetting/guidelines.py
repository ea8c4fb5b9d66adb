"""The published framework findings and decisions are recorded against: data, translated.

Responsible for the 13 adjudicative guidelines of US Security Executive Agent Directive 4
(SEAD 4, "National Security Adjudicative Guidelines", 2017) and the nine whole-person factors
of its paragraph 2(d). Names are translatable; the concern statements are the English summary
shipped for reference. Must never carry case data.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Guideline:
    letter: str
    name: Promise
    concern: str


GUIDELINES: tuple[Guideline, ...] = (
    Guideline(
        "A",
        _("Allegiance"),
        "Involvement in or support of sabotage, espionage, terrorism, sedition or other "
        "acts against the host state, or association with those who commit them.",
    ),
    Guideline(
        "B",
        _("Foreign influence"),
        "Foreign contacts, interests or relatives that may make the person "
        "vulnerable to pressure or coercion by a foreign power, notably the home state.",
    ),
    Guideline(
        "C",
        _("Foreign preference"),
        "Acting so as to prefer the interests of another state, e.g. "
        "exercising duties of another citizenship in conflict with service.",
    ),
    Guideline(
        "D",
        _("Sexual behaviour"),
        "Sexual conduct that is criminal, compulsive, or that makes the person "
        "vulnerable to coercion, exploitation or duress.",
    ),
    Guideline(
        "E",
        _("Personal conduct"),
        "Lack of candour, dishonesty or unwillingness to follow rules, above all "
        "false statements or refusal to co-operate with vetting.",
    ),
    Guideline(
        "F",
        _("Financial considerations"),
        "Inability or unwillingness to meet financial obligations, "
        "unexplained affluence, or debts that invite bribery.",
    ),
    Guideline(
        "G",
        _("Alcohol consumption"),
        "Excessive alcohol consumption leading to impaired judgement or failure to control impulses.",
    ),
    Guideline(
        "H",
        _("Drug involvement and substance misuse"),
        "Use of illegal drugs or misuse of prescription "
        "drugs, which impairs judgement and raises questions about reliability.",
    ),
    Guideline(
        "I",
        _("Psychological conditions"),
        "Conditions that impair judgement, stability, reliability or "
        "trustworthiness, as assessed by a qualified professional.",
    ),
    Guideline(
        "J",
        _("Criminal conduct"),
        "Criminal activity, which casts doubt on judgement, reliability and "
        "willingness to obey laws, rules and regulations.",
    ),
    Guideline(
        "K",
        _("Handling protected information"),
        "Deliberate or negligent failure to protect classified or sensitive information.",
    ),
    Guideline(
        "L",
        _("Outside activities"),
        "Employment or activities that conflict with service or risk unauthorised disclosure.",
    ),
    Guideline(
        "M",
        _("Use of information technology"),
        "Misuse of information systems, networks or devices, or failure to follow the rules for their use.",
    ),
)

BY_LETTER: dict[str, Guideline] = {g.letter: g for g in GUIDELINES}

# SEAD 4, 2(d): the whole-person concept.
WHOLE_PERSON_FACTORS: dict[str, Promise] = {
    "nature": _("Nature, extent and seriousness of the conduct"),
    "circumstances": _("Circumstances surrounding the conduct, including knowledgeable participation"),
    "frequency": _("Frequency and recency of the conduct"),
    "age": _("Age and maturity at the time of the conduct"),
    "voluntariness": _("Extent to which participation was voluntary"),
    "rehabilitation": _("Presence or absence of rehabilitation and other lasting behavioural changes"),
    "motivation": _("Motivation for the conduct"),
    "coercion": _("Potential for pressure, coercion, exploitation or duress"),
    "recurrence": _("Likelihood of continuation or recurrence"),
}
