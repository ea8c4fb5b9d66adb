"""``commands.JsonList``: a document written list item by list item is ``json.dumps``'s text."""

from __future__ import annotations

import io
import json
from typing import Any

from django.core.management.base import OutputWrapper
from hypothesis import given
from hypothesis import strategies as st

from legionary.commands import JsonList, StreamedText

texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
items = st.lists(
    st.dictionaries(texts, st.one_of(texts, st.booleans(), st.lists(texts, max_size=3)), max_size=3), max_size=1200
)


@given(st.lists(items, min_size=1, max_size=3))
def test_lists_written_item_by_item_are_the_text_json_dumps_writes(lists: list[list[dict[str, Any]]]) -> None:
    sink = io.StringIO()
    out = StreamedText(OutputWrapper(sink))
    for n, values in enumerate(lists):
        written = JsonList(out, f"list{n}", first=n == 0)
        for value in values:
            written.add(value)
        written.close(end=n == len(lists) - 1)
    out.flush()
    document = {f"list{n}": values for n, values in enumerate(lists)}
    assert sink.getvalue() == json.dumps(document, ensure_ascii=False) + "\n"
