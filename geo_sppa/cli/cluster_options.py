"""Options of the commands that read collision files and scan for cluster sites.

``collision_file_options`` (the collision file, its columns, date format, CRS and study area),
``cluster_rule_options`` (rule preset, clauses, window lengths), ``rank_by_option`` and
``parts_options`` (DfT vehicle and casualty files), each defined once here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click


def _with(options: list[Callable[..., Any]], command: Callable[..., Any]) -> Callable[..., Any]:
    """Return ``command`` with ``options`` applied, the first shown first in --help."""
    for option in reversed(options):
        command = option(command)
    return command


__all__ = [
    "cluster_rule_options",
    "rule_from_options",
    "rank_by_option",
    "scan_output_options",
]


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
    return _with(options, command)


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
    type=click.Choice(["cost", "ksi", "total", "score", "eb-excess"]),
    default="cost",
    show_default=True,
    help="Rank sites by casualty cost, fatal+serious collisions, all injury collisions, severity "
    "score (10 x fatal + 5 x serious + slight) or Empirical Bayes excess collisions (eb_excess: "
    "corrected for regression to the mean); ties by cost or total, then site id.",
)

#: ``--no-eb``: skip the safety performance function and the Empirical Bayes columns.
no_eb_option = click.option(
    "--no-eb",
    is_flag=True,
    help="Skip the safety performance function over every candidate site and the Empirical "
    "Bayes columns (spf_expected, eb_expected, eb_excess, eb_sd, rtm_share, rtm_note), for speed.",
)


def scan_output_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--snap-tolerance-m``, ``--price-year``, ``--dossier-sites`` and ``--counts``."""
    options = [
        click.option(
            "--snap-tolerance-m",
            type=click.FloatRange(min=0),
            default=30.0,
            show_default=True,
            help="Collisions farther than this from every road are set aside.",
        ),
        click.option(
            "--price-year",
            type=int,
            default=None,
            help="Price year of the DfT value of prevention (default: latest).",
        ),
        click.option(
            "--dossier-sites",
            type=click.IntRange(min=0),
            default=200,
            show_default=True,
            help="Sites, best-ranked first, with a page in clusters_sites.html (0: every site).",
        ),
        click.option(
            "--counts",
            type=click.Path(dir_okay=False),
            default=None,
            help="DfT traffic count points (AADF CSV or point layer) for indicative collision "
            "rates per million vehicle-km at link sites (default: the area's, if bundled).",
        ),
    ]
    return _with(options, command)
