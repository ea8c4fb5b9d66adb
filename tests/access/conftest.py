"""The vetting cast's fixtures, for the need-to-know tests that walk real cases."""

from tests.vetting.conftest import submit, vetting_cast  # noqa: F401 (fixtures used by tests here)
