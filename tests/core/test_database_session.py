"""What every connection of the service to PostgreSQL is set up with."""

from __future__ import annotations

import pytest
from django.db import connection


@pytest.mark.django_db
def test_postgresql_connections_compile_no_query_just_in_time() -> None:
    """JIT compilation is off: where the planner overestimates a page's rows it compiled the query
    for 20-50 ms to run it in a few (the CI officer's My work at a million people)."""
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL setting")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
