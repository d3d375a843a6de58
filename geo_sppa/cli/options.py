"""Options and output helpers shared by every command (defined once, here)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import click

__all__ = [
    "area_option",
    "output_dir_option",
    "crs_option",
    "years_option",
    "parse_years",
    "echo_summary",
    "echo_table",
]

area_option = click.option(
    "--area",
    type=click.Choice(["peterborough", "leeds-central"]),
    default="peterborough",
    show_default=True,
    help="Bundled study area whose data fill any input you do not give.",
)
output_dir_option = click.option(
    "-o",
    "--output-dir",
    type=click.Path(file_okay=False),
    default="maps",
    show_default=True,
    help="Folder for the files the command writes (named in its summary); created if missing.",
)


def _checked_crs(
    ctx: click.Context | None, param: click.Parameter | None, value: str | None
) -> str | None:
    """Return ``value`` if pyproj knows it as a CRS, else a usage error naming it."""
    if value is None:
        return None
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        CRS.from_user_input(value)
    except CRSError:
        raise click.BadParameter(
            f"{value!r} is not a coordinate reference system pyproj knows; "
            "use an EPSG code such as EPSG:27700 or EPSG:4326"
        ) from None
    return value


crs_option = click.option(
    "--crs",
    default=None,
    callback=_checked_crs,
    metavar="CRS",
    help="CRS of input coordinates/layers that do not declare one (e.g. EPSG:27700).",
)


def parse_years(
    ctx: click.Context | None, param: click.Parameter | None, value: str | None
) -> tuple[int, int] | None:
    """Parse ``2012-2014`` (or ``2014``) into a (first, last) tuple of years."""
    if value is None:
        return None
    text = value.strip()
    try:
        if "-" in text:
            first, last = (int(p) for p in text.split("-", 1))
        else:
            first = last = int(text)
    except ValueError:
        raise click.BadParameter(f"expected YEAR-YEAR such as 2014-2016, got {value!r}") from None
    if not (1900 <= first <= last <= 2100):
        raise click.BadParameter(
            f"expected YEAR-YEAR with the first year not after the last, got {value!r}"
        )
    return first, last


years_option = click.option(
    "--years",
    callback=parse_years,
    default=None,
    metavar="Y1-Y2",
    help="Time window, e.g. 2014-2016 (default: the latest three complete years in the data).",
)


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


def set_aside_lines(n_read: int, n_used: int, set_aside) -> list[tuple[str, object]]:
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
