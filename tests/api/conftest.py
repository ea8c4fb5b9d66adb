"""The vetting cast, for the API tests that need a real case."""

from tests.vetting.conftest import submit, vetting_cast  # noqa: F401 (fixtures used by tests here)
