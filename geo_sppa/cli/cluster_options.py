"""Options of the commands that read collision files and scan for cluster sites.

``collision_file_options`` (the collision file, its columns, date format, CRS and study area),
``cluster_rule_options`` (rule preset, clauses, window lengths), ``rank_by_option`` and
``parts_options`` (DfT vehicle and casualty files), each defined once here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from geo_sppa.cli.options import crs_option

__all__ = [
    "collision_file_options",
    "collision_columns",
    "cluster_rule_options",
    "rule_from_options",
    "rank_by_option",
    "parts_options",
]


def collision_file_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the options that describe a collision file: its columns, date format and CRS.

    The command receives ``collisions``, ``study_area``, ``crs``, ``id_column``, ``x_column``,
    ``y_column``, ``date_column``, ``date_format`` and ``severity_column``; pass the column
    names through :func:`collision_columns`.
    """
    options = [
        click.option(
            "--collisions",
            type=click.Path(),
            default=None,
            help="Collision CSV (DfT STATS19 of any vintage, council extract, or generic). "
            "Default: the area's.",
        ),
        click.option(
            "--study-area",
            type=click.Path(),
            default=None,
            help="Polygon layer; collisions outside it are set aside.",
        ),
        crs_option,
        click.option("--id-column", default=None, help="Collision id column of a generic CSV."),
        click.option("--x-column", default=None, help="Easting (or x) column of a generic CSV."),
        click.option("--y-column", default=None, help="Northing (or y) column of a generic CSV."),
        click.option("--date-column", default=None, help="Date column of a generic CSV."),
        click.option(
            "--date-format",
            default=None,
            metavar="FORMAT",
            help="Date format such as %d/%m/%Y (default: detected; a file mixing day-first "
            "and month-first dates is refused).",
        ),
        click.option(
            "--severity-column",
            default=None,
            help="Severity column (1/2/3 or fatal/serious/slight).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def collision_columns(**names: str | None) -> dict[str, str]:
    """Return the column overrides the user gave, by field (``id_column="ref"`` -> ``id``)."""
    return {k.removesuffix("_column"): v for k, v in names.items() if v}


def _clause(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple:
    """Return ``--clause TOTAL:KSI`` values as rule clauses."""
    from geo_sppa.roads.rules import Clause

    clauses = []
    for value in values:
        try:
            total, ksi = (int(v) for v in value.split(":"))
        except ValueError:
            raise click.BadParameter(
                f"expected TOTAL:KSI such as 6:0 or 5:1, got {value!r}"
            ) from None
        clauses.append(Clause(min_total=total, min_ksi=ksi))
    return tuple(clauses)


def cluster_rule_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the cluster rule options: ``--rule``, ``--clause``, ``--length-m``, ``--radius-m``..."""
    options = [
        click.option(
            "--rule",
            "rule_name",
            default="spp",
            show_default=True,
            help=(
                "Rule preset: spp (6+ injury, or 3+ fatal/serious, or 5+ with 1+ fatal/serious) "
                "or wales-trunk."
            ),
        ),
        click.option(
            "--clause",
            "clauses",
            multiple=True,
            callback=_clause,
            metavar="TOTAL:KSI",
            help="Replace the rule's OR-clauses, e.g. --clause 6:0 --clause 0:3 --clause 5:1.",
        ),
        click.option(
            "--length-m",
            type=click.FloatRange(min=1),
            default=None,
            help="Link window length, metres (100).",
        ),
        click.option(
            "--radius-m",
            type=click.FloatRange(min=1),
            default=None,
            help="Radius-mode circle radius, metres (50).",
        ),
        click.option(
            "--junction-radius-m",
            type=click.FloatRange(min=0),
            default=None,
            help="Collisions this close to a junction belong to it, metres (20).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def rule_from_options(
    name: str,
    clauses: tuple,
    *,
    length_m: float | None = None,
    radius_m: float | None = None,
    junction_radius_m: float | None = None,
) -> Any:
    """Return the preset rule with any clauses or lengths the user changed."""
    from geo_sppa.roads.rules import rule_named

    rule = rule_named(name)
    return rule.with_options(
        name=f"{rule.name} (custom clauses)" if clauses else None,
        clauses=tuple(clauses) if clauses else None,
        length_m=length_m,
        radius_m=radius_m,
        junction_radius_m=junction_radius_m,
    )


#: ``--rank-by`` (geo_sppa.roads.sites.RANK_ORDERS; kept literal so --help needs no import).
rank_by_option = click.option(
    "--rank-by",
    type=click.Choice(["cost", "ksi", "total", "score"]),
    default="cost",
    show_default=True,
    help="Rank sites by casualty cost, fatal+serious collisions, all injury collisions or severity "
    "score (10 x fatal + 5 x serious + slight); ties by cost or total, then site id.",
)


def parts_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--vehicles`` and ``--casualties`` (DfT STATS19 vehicle and casualty files)."""
    for name, what in (("--casualties", "casualty"), ("--vehicles", "vehicle")):
        command = click.option(
            name,
            type=click.Path(dir_okay=False),
            default=None,
            help=f"DfT STATS19 {what} CSV (any vintage), joined to the collisions on the "
            "collision index; rows with no such collision are set aside.",
        )(command)
    return command
