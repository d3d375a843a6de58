"""What every command prints: the run summary, result tables, and the output manifest."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import click

from geo_sppa.cli.run_record import finish_run  # re-exported: commands import it here

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "echo_summary",
    "echo_table",
    "set_aside_lines",
    "finish_run",
    "echo_cluster_table",
    "cluster_summary_lines",
]


def echo_summary(title: str, lines: Mapping[str, object] | Iterable[tuple[str, object]]) -> None:
    """Print a ``title`` line and aligned ``label: value`` lines on stdout."""
    items = list(lines.items() if isinstance(lines, Mapping) else lines)
    click.echo(title)
    width = max((len(k) for k, _ in items), default=0)
    for key, value in items:
        click.echo(f"  {key.ljust(width)}  {value}")


def echo_table(
    frame, columns: list[str], *, max_rows: int = 20, formats: Mapping[str, str] | None = None
) -> None:
    """Print the first ``max_rows`` rows of ``frame`` as a plain aligned text table."""
    import pandas as pd

    formats = formats or {}
    shown = frame.head(max_rows)
    cells = [[str(c) for c in columns]]
    for _, row in shown.iterrows():
        cells.append(
            [
                (format(row[c], formats[c]) if c in formats and row[c] == row[c] else str(row[c]))
                for c in columns
            ]
        )
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in columns]
    for n, r in enumerate(cells):
        click.echo(
            "  ".join(
                v.rjust(w) if num else v.ljust(w)
                for v, w, num in zip(r, widths, numeric, strict=True)
            ).rstrip()
        )
        if n == 0:
            click.echo("  ".join("-" * w for w in widths))
    if len(frame) > max_rows:
        click.echo(f"... and {len(frame) - max_rows} more (see the CSV)")


def set_aside_lines(n_read: int, n_used: int, set_aside: pd.DataFrame) -> list[tuple[str, object]]:
    """Return summary lines: read, used, and set aside by reason."""
    lines: list[tuple[str, object]] = [
        ("records read", f"{n_read:,}"),
        ("records used", f"{n_used:,}"),
    ]
    total = len(set_aside)
    lines.append(("set aside", f"{total:,}" + ("" if total else " (none)")))
    if total:
        for reason, count in set_aside["reason"].value_counts().items():
            lines.append((f"  - {reason}", f"{int(count):,}"))
    return lines


_CLUSTER_TABLE = [
    "rank",
    "site_id",
    "site_type",
    "name",
    "fatal",
    "serious",
    "slight",
    "total",
    "cost",
    "previous_total",
    "status",
]


def echo_cluster_table(result: Any) -> None:
    """Print the ranked cluster sites (top 25) and the resolved sites of a cluster run."""
    sites = result.sites
    window = f"{result.window[0]}-{result.window[1]}"
    if len(sites):
        table = sites.assign(cost=(sites["cost_gbp"] / 1000).round().astype("Int64"))
        click.echo(f"Cluster sites {window}, ranked by {_ranking(result)}:")
        echo_table(table, _CLUSTER_TABLE, max_rows=25)
        click.echo("(cost in £ thousands)")
    else:
        click.echo(f"No cluster sites in {window} under rule {result.rule.name}.")
    if len(result.resolved):
        names = result.resolved["name"].astype(str)
        more = (
            f"; and {len(names) - 10} more (see clusters_resolved.csv)" if len(names) > 10 else ""
        )
        click.echo(
            f"Resolved since {result.previous_window[0]}-{result.previous_window[1]} "
            f"({len(names)}): " + "; ".join(names.head(10)) + more
        )
    click.echo("")


def _ranking(result: Any) -> str:
    """Return what the run's sites are ranked by, in words."""
    from geo_sppa.roads.sites import RANK_LABELS

    by = getattr(result, "rank_by", "cost")
    return f"{RANK_LABELS[by]} (--rank-by {by})"


def cluster_summary_lines(
    result: Any, inputs: Any, set_aside: pd.DataFrame
) -> list[tuple[str, object]]:
    """Return the run summary of a cluster run: records, window, mode, rule, sites, notes."""
    counts, rule, prev = result.counts, result.rule, result.previous_window
    mode = (
        f"network: {rule.length_m:g} m road windows and junctions on {inputs.roads_source}"
        if result.mode == "network"
        else f"radius: {rule.radius_m:g} m circles (no road network; pass --roads FILE for the "
        f"{rule.length_m:g} m segment and junction scan)"
    )
    n_read = inputs.collisions.n_read
    lines = [("collisions file", inputs.collisions_path.name)]
    lines += set_aside_lines(n_read, n_read - len(set_aside), set_aside)
    in_window = f"{counts.get('n_in_window', 0):,} collisions"
    lines += [
        (
            "window",
            f"{result.window[0]}-{result.window[1]} ({in_window}; "
            f"{counts.get('n_outside_window', 0):,} outside it)",
        ),
        (
            "previous window",
            f"{prev[0]}-{prev[1]}" if prev else "none (the data do not reach back)",
        ),
        ("mode", mode),
        ("rule", rule.summary(result.mode)),
        (
            "sites",
            f"{len(result.sites):,} ({counts.get('n_in_sites', 0):,} collisions in sites), "
            f"{len(result.resolved):,} resolved",
        ),
        ("ranked by", _ranking(result)),
        ("costs", result.cost_table),
    ]
    if getattr(result, "spf", None) is not None:
        from geo_sppa.roads.spf import spf_summary

        lines.append(("SPF fit", spf_summary(result.spf)))
    return lines + [("note", n) for n in (*inputs.notes, *result.notes)]
