"""The authorisation matrix: every route × every role, derived from the access rules, as Markdown.

Responsible for reading the access policy as a reviewer would: for each URL pattern and API route,
its rule (public, a step of signing in, or a permission) and, for each role, whether that role
passes. A route that names a person, a case or a unit (``person_id``, ``case_id`` or ``check_id``,
``unit_id``, or a billet or override, which belong to a unit) is also scoped: allowed roles see what
is inside their grant's scope, narrowed by their role as ``access.scopes.NARROWING`` says (the same
table the querysets are built from), and get 404 for anything else. ``legionary access-matrix``
writes this to ``docs/access-matrix.md``; ``tests/units/test_access_matrix.py`` and
``tests/access/test_need_to_know.py`` check the file is current and that the real answers match
each cell.

Must never: decide access itself (it only reports the rules that ``access.policy`` and
``access.scopes`` enforce).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from legionary.access.policy import access_rule
from legionary.access.roles import ROLE_PERMISSIONS, Perm, Role
from legionary.access.scopes import NARROWING
from legionary.access.stepup import STEP_UP_ATTR

# URL arguments that name something scoped by ``access.scopes``.
SCOPED_ARGS = {
    "person_id": "person",
    "case_id": "case",
    "check_id": "case",
    "unit_id": "unit",
    "billet_id": "unit",
    "override_id": "unit",
}
# Where the project API mounts the units router (see legionary.units.api).
UNITS_API_PREFIX = "/api/v1/units"


@dataclass(frozen=True)
class MatrixRoute:
    name: str
    path: str
    rule: str
    scoped: str | None  # "person", "case", "unit" or None
    step_up: str = ""  # what the route opens, when it asks for the code again first (access.stepup)

    @property
    def perm(self) -> Perm | None:
        return Perm(self.rule.removeprefix("staff:")) if self.rule.startswith("staff:") else None

    def allows(self, role: str) -> bool:
        perm = self.perm
        return perm is not None and perm in ROLE_PERMISSIONS[role]


def _scoped(path: str) -> str | None:
    for arg, kind in SCOPED_ARGS.items():
        if re.search(r"[<{](?:\w+:)?" + arg + r"[>}]", path):
            return kind
    return None


def _url_routes() -> Iterator[MatrixRoute]:
    def walk(patterns: list[Any], prefix: str, namespace: str) -> Iterator[MatrixRoute]:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                yield from walk(entry.url_patterns, prefix + str(entry.pattern), ns)
            elif isinstance(entry, URLPattern):
                path = "/" + (prefix + str(entry.pattern)).lstrip("^").rstrip("$")
                name = f"{namespace}{entry.name}" if entry.name else path
                rule = access_rule(entry.callback) or "none"
                yield MatrixRoute(name, path, rule, _scoped(path), getattr(entry.callback, STEP_UP_ATTR, ""))

    yield from walk(get_resolver().url_patterns, "", "")


def _units_api_routes() -> Iterator[MatrixRoute]:
    """The units router's operations, at the path the project API mounts them."""
    from legionary.units.api import router

    for subpath, path_view in router.path_operations.items():
        for operation in path_view.operations:
            path = UNITS_API_PREFIX + "/" + subpath.lstrip("/")
            name = f"api-public:{operation.url_name or path}"
            yield MatrixRoute(name, path, access_rule(operation.view_func) or "none", _scoped(path))


def matrix_routes() -> list[MatrixRoute]:
    routes = list(_url_routes())
    # Until the project API mounts the units router its routes are listed from the router itself,
    # so the matrix already shows them; once mounted, they come from the URL patterns above.
    if not any(r.path.startswith(UNITS_API_PREFIX) for r in routes):
        routes.extend(_units_api_routes())
    return routes


# The cells of a scoped route, for a role allowed through it.
WHOLE_SCOPE = "in scope ✓ · outside 404"
NARROWED = "his ✓ · others 404"
NONE_OF_THEM = "404"


def cell(route: MatrixRoute, role: str) -> str:
    if route.rule == "public":
        return "public"
    if route.rule == "login-step":
        return "sign-in step"
    if not route.allows(role):
        return "403"
    if not route.scoped:
        return "✓"
    narrowing = NARROWING.get(role)
    if narrowing is None or route.scoped == "unit":
        return WHOLE_SCOPE
    if route.scoped == "case" and not narrowing.covers_cases:
        return NONE_OF_THEM
    return NARROWED


ROLE_ABBREVIATIONS: dict[str, str] = {
    Role.ADMINISTRATOR: "admin",
    Role.INTAKE_OFFICER: "intake",
    Role.INVESTIGATOR: "invest.",
    Role.POLYGRAPH_EXAMINER: "polygr.",
    Role.CI_OFFICER: "CI",
    Role.ADJUDICATOR: "adjud.",
    Role.SENIOR_ADJUDICATOR: "sr adjud.",
    Role.INSTRUCTOR: "instr.",
    Role.UNIT_COMMANDER: "unit cdr",
    Role.SECURITY_OFFICER: "security",
    Role.AUDITOR: "auditor",
}


def render_markdown() -> str:
    roles = list(Role.values)
    routes = matrix_routes()
    lines = [
        "# Access matrix",
        "",
        "Generated by `legionary access-matrix` from the URL patterns, the API routes, the access rules",
        "and the need-to-know table (`legionary.access.scopes.NARROWING`); do not edit by hand.",
        "`tests/units/test_access_matrix.py` and `tests/access/test_need_to_know.py` check that this file",
        "is current and that every scoped cell answers as shown.",
        "",
        "- **✓**: allowed. **403**: refused (the role lacks the permission). Signed-out visitors of a",
        "  staff page are sent to the sign-in page; the API answers them 401 (a problem, before it reads",
        "  the body).",
        f"- **{WHOLE_SCOPE}**: the route names a person, a case (or one of its checks) or a unit; the",
        "  role sees what its grant's scope covers (`legionary.access.scopes`) and gets 404 for anything",
        "  else, so a refusal leaks nothing about what exists.",
        f"- **{NARROWED}**: the role sees only part of its grant's scope, the part its work touches, and",
        "  gets 404 for the rest of the scope as for anything outside it. **404** on a case route: the",
        "  role holds the permission but sees no case at all. The same rule answers lists, pages, exports,",
        "  unsealing and the API. What each narrowed role sees:",
        *(f"  - {Role(role).label}: {narrowing.says}." for role, narrowing in NARROWING.items()),
        "- Scopes: system (all), legion (its people, cases and units), unit (its subtree and the people",
        "  assigned there), cohort (its enrolled people), case (that case and its person). Every role not",
        "  listed above sees its whole scope.",
        "- **Openings** of sealed data, and the approval of a break-glass request, ask for the",
        "  authenticator code again first when the last one is older than `LEGIONARY_STEP_UP_MINUTES`",
        "  (step-up, `legionary.access.stepup`; the wrong role is refused before any code is asked):",
        "  " + ", ".join(f"`{r.name}`" for r in sorted(routes, key=lambda r: r.name) if r.step_up) + ".",
        "  A ✓ on them lets the role ask: the opening then needs a purpose of its own or a security",
        "  officer's approval (break-glass, `docs/security.md`).",
        "- The openings monitor (`openings:monitor` and its summary exports) is open to the roles that",
        "  read the audit log: the security officer, and the auditor read-only (it counts what the log",
        "  already shows him; the break-glass decisions stay the security officer's). Both see the",
        "  openings of the people of their grants' legions only: a legion grant shows that legion, a",
        "  system grant every legion, a unit, cohort or case grant none.",
        "",
        "Roles: " + ", ".join(f"{ROLE_ABBREVIATIONS[r]} = {Role(r).label}" for r in roles) + ".",
        "",
        "| route | path | rule | " + " | ".join(ROLE_ABBREVIATIONS[r] for r in roles) + " |",
        "|---|---|---|" + "---|" * len(roles),
    ]
    for route in sorted(routes, key=lambda r: (r.path, r.name)):
        cells = " | ".join(cell(route, r) for r in roles)
        lines.append(f"| `{route.name}` | `{route.path}` | {route.rule} | {cells} |")
    return "\n".join(lines) + "\n"
