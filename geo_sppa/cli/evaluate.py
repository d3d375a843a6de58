"""``geo-sppa evaluate``: did the schemes work? Empirical Bayes before/after of treated sites."""

from __future__ import annotations

from typing import Any

import click

from geo_sppa.cli.cluster_options import cluster_rule_options, rule_from_options
from geo_sppa.cli.input_options import collision_columns, collision_file_options
from geo_sppa.cli.options import (
    area_option,
    output_dir_option,
    parse_years,
    sites_option,
    treated_option,
)
from geo_sppa.cli.summary import echo_summary, finish_run, set_aside_lines


@click.command("evaluate")
@area_option
@treated_option(required=True)
@sites_option
@click.option(
    "--before-years",
    callback=parse_years,
    default=None,
    metavar="Y1-Y2",
    help="Before period (default: the 3 calendar years before each treatment year).",
)
@click.option(
    "--after-years",
    callback=parse_years,
    default=None,
    metavar="Y1-Y2",
    help="After period (default: from the treatment date to the data's last complete month).",
)
@click.option(
    "--min-after-years",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Sites with a shorter after period are flagged and left out of the overall estimate.",
)
@click.option(
    "--roads",
    default=None,
    metavar="PATH|osm",
    help="Road network for junction and 100 m segment sites (default: the area's, if any; "
    "else radius mode).",
)
@click.option("--keep-service-roads", is_flag=True, help="Keep highway=service ways.")
@click.option("--radius-mode", is_flag=True, help="Radius mode even where the area has roads.")
@click.option(
    "--snap-tolerance-m",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Collisions farther than this from every road count at no site.",
)
@cluster_rule_options
@collision_file_options
@output_dir_option
def evaluate(**options: Any) -> None:
    """Did the schemes work? Before/after evaluation of treated sites by empirical Bayes.

    Each treated site's collisions after its treatment date are set against those expected had
    it not been treated: its before count pulled towards the safety performance function of
    every candidate site in the area (junctions and 100 m road segments, or radius-mode grid
    circles), which corrects for regression to the mean, and carried forward by the area's
    trend (Hauer 1997). Theta 0.7 means 30% fewer collisions than expected; an interval that
    covers 1 is no evidence of an effect. The naive before/after ratio is shown beside it.

    Writes evaluate.csv (per site), evaluate_overall.csv (all sites and per kind),
    evaluate.html and evaluate_set_aside.csv (rows not used, with the reason).

    \b
    Example:
        geo-sppa clusters --area leeds-central --years 2014-2016 -o out/
        geo-sppa evaluate --area leeds-central --treated schemes.csv --sites out/clusters.csv
    """
    _run(options)


_RECORDED = ("area", "before_years", "after_years", "min_after_years", "radius_mode",
             "length_m", "radius_m", "junction_radius_m", "snap_tolerance_m", "crs")  # fmt: skip


def _run(o: dict[str, Any]) -> None:
    """Read, evaluate, write and report one evaluation from the parsed options ``o``."""
    from datetime import datetime, timezone
    from pathlib import Path

    import pandas as pd

    from geo_sppa import io
    from geo_sppa.bundled.inputs import cluster_inputs
    from geo_sppa.cli.progress import Progress
    from geo_sppa.evaluation.schemes import scheme_evaluation
    from geo_sppa.io.treated import read_sites, read_treated

    started = datetime.now(timezone.utc)
    out = io.output_dir(o["output_dir"])
    lengths = {k: o[k] for k in ("length_m", "radius_m", "junction_radius_m")}
    rule = rule_from_options(o["rule_name"], o["clauses"], **lengths)
    with Progress(["reading inputs", "SPF and evaluation", "writing outputs"]) as progress:
        with progress.stage("reading inputs"):
            sites = read_sites(o["sites"]) if o["sites"] else None
            treated = read_treated(o["treated"], sites=sites, crs=o["crs"])
            inputs = cluster_inputs(
                o["area"], collisions=o["collisions"], roads=o["roads"],
                study_area=o["study_area"], crs=o["crs"],
                columns=collision_columns(**{k: v for k, v in o.items() if k.endswith("_column")}),
                date_format=o["date_format"], radius_mode=o["radius_mode"],
                keep_service_roads=o["keep_service_roads"], cache_dir=out, with_context=False,
            )  # fmt: skip
        with progress.stage("SPF and evaluation"):
            result = scheme_evaluation(
                inputs.collisions.data, treated.data, roads=inputs.roads, rule=rule,
                before_years=o["before_years"], after_years=o["after_years"],
                snap_tolerance_m=o["snap_tolerance_m"], min_after_years=o["min_after_years"],
                source=Path(o["treated"]).name,
                footprints=None if sites is None else sites.set_index("site_id")["footprint"],
            )  # fmt: skip
        with progress.stage("writing outputs"):
            set_aside = pd.concat([treated.set_aside, result.set_aside], ignore_index=True)
            every = [set_aside, inputs.collisions.set_aside]  # treated rows, then collisions
            written = _write(result, inputs, pd.concat(every, ignore_index=True), out)
    lines = _summary(result, treated, inputs, set_aside)
    lines += finish_run(
        out, command="evaluate", written=written, started=started,
        inputs=[o["treated"], o["sites"], inputs.collisions_path,
                o["roads"] if o["roads"] not in (None, "osm") else None, o["study_area"]],
        options={"rule": rule.name, **{k: o[k] for k in _RECORDED}},
        counts={"n_treated_read": treated.n_read, "n_evaluated": len(result.sites),
                "n_treated_set_aside": len(set_aside), "n_reference_sites": result.n_reference,
                "n_collisions_read": inputs.collisions.n_read},
    )  # fmt: skip
    echo_summary("Run summary", lines)


def _write(result: Any, inputs: Any, set_aside: Any, out: Any) -> list:
    """Write evaluate.csv, evaluate_overall.csv, evaluate_set_aside.csv and evaluate.html."""
    import pandas as pd

    from geo_sppa.io.writers import write_csv, write_text
    from geo_sppa.render.evaluation_page import effect_words, evaluation_html

    groups = {"all": result.effect.overall, **result.by_kind}
    overall = pd.DataFrame([{"sites": g, **e.as_row(), "k": result.effect.k,
                             "spf": result.spf_note} for g, e in groups.items()])  # fmt: skip
    title = f"Did the schemes work? {inputs.place}"
    notes = [result.spf_note, result.reference_note,
             f"collisions from {result.data[0]:%d %b %Y} to {result.data[1]:%d %b %Y}",
             f"{len(set_aside)} row(s) set aside: evaluate_set_aside.csv",
             *(f"{kd} sites: {effect_words(e)}" for kd, e in result.by_kind.items()
               if len(result.by_kind) > 1)]  # fmt: skip
    return [
        write_csv(result.sites, out / "evaluate.csv"),
        write_csv(overall, out / "evaluate_overall.csv"),
        write_csv(set_aside, out / "evaluate_set_aside.csv"),
        write_text(evaluation_html(result.sites, result.effect.overall, title=title,
                                   notes=notes), out / "evaluate.html"),
    ]  # fmt: skip


def _summary(result: Any, treated: Any, inputs: Any, set_aside: Any) -> list[tuple[str, object]]:
    """Return the run summary: treated sites read/used/set aside, collisions, SPF, theta."""
    from geo_sppa.render.evaluation_page import effect_words

    overall = result.effect.overall
    loaded = inputs.collisions
    lines: list[tuple[str, object]] = [
        (f"treated {k}", v)
        for k, v in set_aside_lines(treated.n_read, len(result.sites), set_aside)
    ]
    lines += [
        ("collisions file", inputs.collisions_path.name),
        ("collisions", f"{loaded.n_read:,} read, {len(loaded.set_aside):,} set aside by the "
                       f"reader, {result.n_collisions_lost:,} beyond the snap tolerance"),
        ("data", f"{result.data[0]:%d %b %Y} to {result.data[1]:%d %b %Y}"),
        ("mode", result.mode),
        ("SPF", result.spf_note + (" (fallback)" if result.spf_fallback else "")),
        ("reference group", result.reference_note),
        ("flagged", f"{int(result.sites['partial_years'].sum())} with partial years, "
                    f"{overall.n_short_after} with a short after period (not in the overall)"),
        ("effect", effect_words(overall)),
        *((f"effect, {kd} sites", effect_words(e)) for kd, e in result.by_kind.items()
          if len(result.by_kind) > 1),
    ]  # fmt: skip
    return lines + [("note", n) for n in (*treated.notes, *inputs.notes)]
