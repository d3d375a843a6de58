"""Options that describe the collision files a command reads, defined once here.

``collision_file_options`` (the collision file, its columns, date format, CRS and study area),
``collision_columns`` (the column overrides given) and ``parts_options`` (DfT vehicle and
casualty files).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from geo_sppa.cli.options import crs_option

__all__ = ["collision_file_options", "collision_columns", "parts_options"]


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
