"""Server-rendered SVG bar charts, inline in the page: no script, no style, no external file.

Responsible for drawing a ``reports.tables.Table`` as horizontal bars, one group per row and one
bar per plotted column. The chart is an image for assistive technology (``role="img"``, a
``<title>`` and a ``<desc>`` saying that the table below carries the same figures), and it is
CSP-clean: colours are presentation attributes (``fill=``), never ``style``.

Must never: draw a bar for a hidden count (it is written as its text, e.g. "< 5", with no bar, so
its length cannot give the number away), or put unescaped text into the markup (every text goes
through ``format_html``).
"""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from legionary.reports.tables import Table

WIDTH = 720
LABEL_WIDTH = 230
VALUE_ROOM = 70
BAR_HEIGHT = 14
BAR_GAP = 3
GROUP_GAP = 10
TOP = 8
LEGEND_HEIGHT = 22
# Dark enough against white for WCAG AA non-text contrast (3:1), and told apart by the legend text.
PALETTE = ("#1f4e79", "#b34700", "#3b6e22", "#6b2f7a")


def _short(label: str, limit: int = 34) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def bar_chart(table: Table, *, chart_id: str) -> SafeString:
    """The table's chart as inline SVG markup (empty when the table has no chart or no rows)."""
    if not table.chart_values or not table.rows:
        return SafeString("")
    label_at = table.column(table.chart_label)
    series = [(table.column(key), str(table.columns[table.column(key)].label)) for key in table.chart_values]
    numbers = [row[i].number for row in table.rows for i, _name in series]
    top = max([float(n) for n in numbers if n is not None] + [1.0])
    scale = (WIDTH - LABEL_WIDTH - VALUE_ROOM) / top
    group_height = len(series) * (BAR_HEIGHT + BAR_GAP) + GROUP_GAP
    legend = LEGEND_HEIGHT if len(series) > 1 else 0
    height = TOP + legend + len(table.rows) * group_height

    parts: list[SafeString] = []
    if legend:
        parts.append(
            format_html_join(
                "",
                '<rect x="{}" y="{}" width="12" height="12" fill="{}"/><text x="{}" y="{}" font-size="12">{}</text>',
                (
                    (LABEL_WIDTH + k * 170, TOP, PALETTE[k % len(PALETTE)], LABEL_WIDTH + k * 170 + 16, TOP + 11, name)
                    for k, (_i, name) in enumerate(series)
                ),
            )
        )
    y = TOP + legend
    for row in table.rows:
        label = row[label_at].text
        parts.append(
            format_html(
                '<text x="{}" y="{}" font-size="12" text-anchor="end">{}</text>',
                LABEL_WIDTH - 8,
                y + BAR_HEIGHT - 3,
                _short(label),
            )
        )
        for k, (i, _name) in enumerate(series):
            cell = row[i]
            length = 0.0 if cell.number is None else max(float(cell.number) * scale, 0.0)
            if cell.number is not None and length > 0:
                parts.append(
                    format_html(
                        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>',
                        LABEL_WIDTH,
                        y,
                        f"{length:.1f}",
                        BAR_HEIGHT,
                        PALETTE[k % len(PALETTE)],
                    )
                )
            parts.append(
                format_html(
                    '<text x="{}" y="{}" font-size="11">{}</text>',
                    f"{LABEL_WIDTH + length + 4:.1f}",
                    y + BAR_HEIGHT - 3,
                    cell.text,
                )
            )
            y += BAR_HEIGHT + BAR_GAP
        y += GROUP_GAP
    return format_html(
        # No fixed size: the chart takes the width it is given (its viewBox keeps the proportions), so
        # it shrinks on a phone instead of widening the page.
        '<svg xmlns="http://www.w3.org/2000/svg" id="{}" class="chart" role="img" viewBox="0 0 {} {}" '
        'width="100%" preserveAspectRatio="xMinYMin meet" aria-labelledby="{}-title {}-desc">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}</svg>',
        chart_id,
        WIDTH,
        height,
        chart_id,
        chart_id,
        chart_id,
        table.title,
        chart_id,
        _("Bar chart. The same figures are in the table below it."),
        SafeString("".join(parts)),
    )
