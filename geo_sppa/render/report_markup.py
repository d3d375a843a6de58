"""HTML building blocks of the strategic-assessment report: escaping, tables, charts, maps, CSS.

Every cell and caption is HTML-escaped here, charts become PNG ``data:`` URIs and maps an
``<iframe srcdoc>``, so the page stays self-contained. :data:`REPORT_CSS` carries the print rules
(A4, a page break before every section) that ``geo-sppa report --pdf`` relies on.
"""

from __future__ import annotations

import base64
import html
import io as _bytes_io
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = [
    "Chart",
    "REPORT_CSS",
    "chart_figure",
    "count_text",
    "escape",
    "figure_data_uri",
    "html_table",
    "map_iframe",
    "money",
    "pounds",
]

#: A chart: a matplotlib Figure or the PNG bytes of one.
Chart = Figure | bytes

REPORT_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Arial,sans-serif;margin:0;color:#222;
background:#fafafa}
header{background:#0b3c5d;color:#fff;padding:1.2em 2em}header h1{margin:0 0 .2em;font-size:1.6em}
main{max-width:1100px;margin:0 auto;padding:1em 2em 3em}
section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:1em 1.5em;margin:1.2em 0}
h2{color:#0b3c5d;margin-top:.2em}
p.data{font-size:.9em;color:#555;border-left:3px solid #0b3c5d;padding-left:.7em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em}
th{background:#eef3f7;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.priority td{background:#fbe3e3}
img.chart{max-width:100%;height:auto;margin:.5em 0;border:1px solid #eee}
iframe.map{width:100%;height:520px;border:1px solid #ccc}nav a{color:#fff;margin-right:1em}
ul.summary li{margin:.3em 0}.note{font-size:.85em;color:#666}
footer{max-width:1100px;margin:0 auto 2em;padding:0 2em;font-size:.85em;color:#444}
footer li{margin:.2em 0}ul.recs>li{margin:.6em 0}ul.recs ul{margin:.2em 0}
.recs .kind{font-weight:600;color:#0b3c5d}
@page{size:A4;margin:14mm 12mm}
@media print{body{background:#fff}header{padding:.6em 0;background:#fff;color:#0b3c5d}
nav{display:none}
main,footer{max-width:none;padding:0}section{border:0;border-radius:0;padding:0;margin:0;
break-before:page}section#summary{break-before:auto}footer{break-before:page}
figure,table,tr,img.chart{break-inside:avoid}iframe.map{height:420px}}
"""


def figure_data_uri(figure: Chart) -> str:
    """Return a ``data:image/png;base64,...`` URI for a matplotlib Figure or PNG bytes."""
    if isinstance(figure, (bytes, bytearray)):
        data = bytes(figure)
    else:
        buffer = _bytes_io.BytesIO()
        figure.savefig(buffer, format="png", dpi=110)
        data = buffer.getvalue()
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def escape(value: object) -> str:
    """Return ``value`` as HTML-escaped text ('' for None and NaN)."""
    return html.escape(
        "" if value is None or (isinstance(value, float) and value != value) else str(value),
        quote=True,
    )


def money(value: float) -> str:
    """Return pounds as ``£1.2m`` from a million, else ``£1,234`` (``-`` for NaN)."""
    if value != value:
        return "-"
    return f"£{value / 1e6:,.1f}m" if abs(value) >= 1e6 else f"£{value:,.0f}"


def count_text(value: object) -> str:
    """Return a count as text; a suppressed one (``<5``) as it is."""
    return value if isinstance(value, str) else f"{value:g}"


def pounds(value: float) -> str:
    """Return whole pounds with separators (``-`` for NaN)."""
    return "-" if value != value else f"£{value:,.0f}"


def html_table(
    frame: pd.DataFrame,
    columns: Mapping[str, str],
    *,
    formats: Mapping[str, str | Callable[[Any], str]] | None = None,
    row_class: Callable[[pd.Series], str] | None = None,
) -> str:
    """Return an HTML table of ``frame``: ``columns`` maps column -> header; every cell escaped."""
    formats = formats or {}
    head = "".join(f"<th>{escape(h)}</th>" for h in columns.values())
    rows = []
    for _, row in frame.iterrows():
        cells = []
        for column in columns:
            value = row[column]
            fmt = formats.get(column)
            missing = (
                value is None or value is pd.NA or (isinstance(value, float) and value != value)
            )
            text = (
                "-"
                if missing
                else (fmt(value) if callable(fmt) else format(value, fmt) if fmt else str(value))
            )
            numeric = (
                not missing
                and isinstance(value, numbers.Number)
                and not isinstance(value, (bool, np.bool_))
            )
            cells.append(('<td class="n">' if numeric else "<td>") + f"{escape(text)}</td>")
        cls = f' class="{escape(row_class(row))}"' if row_class and row_class(row) else ""
        rows.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def chart_figure(figure: Chart, caption: str) -> str:
    """Return a ``<figure>`` with the chart as an inline PNG and its escaped caption."""
    return (
        f'<figure><img class="chart" alt="{escape(caption)}" src="{figure_data_uri(figure)}">'
        f'<figcaption class="note">{escape(caption)}</figcaption></figure>'
    )


def map_iframe(page: str, title: str) -> str:
    """Return a self-contained map page embedded as an escaped ``<iframe srcdoc>``."""
    srcdoc = html.escape(page, quote=True)
    return f'<iframe class="map" title="{escape(title)}" srcdoc="{srcdoc}"></iframe>'
