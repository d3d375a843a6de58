"""``geo-sppa outliers``: wards far from what their deprivation predicts."""

from __future__ import annotations

from typing import Any

import click

from geo_sppa.cli.options import echo_summary, echo_table, seed_option
from geo_sppa.cli.wards import read_ward_inputs, ward_input_options

__all__ = ["outliers"]

#: Printed columns after the measure, and the formats of the numeric ones.
_COLUMNS = ("observed", "expected", "pi_low", "pi_high", "studentized_residual", "cooks_distance")
_FORMATS = {
    "expected": ".1f",
    "pi_low": ".0f",
    "pi_high": ".0f",
    "population": ",.0f",
    "studentized_residual": ".2f",
    "cooks_distance": ".2f",
}


@click.command("outliers")
@ward_input_options
@click.option(
    "--model",
    type=click.Choice(["nb", "poisson", "ols"]),
    default="nb",
    show_default=True,
    help="nb: negative binomial with log(population) offset (ward counts are over-dispersed); "
    "poisson; ols: rate on deprivation (the classic scatter).",
)
@click.option(
    "--measure",
    default=None,
    help="Deprivation column to model on. Default: imd_no_crime_score (the IMD recombined without "
    "its crime domain, which is built from recorded crime), else income_score, else the overall "
    "measure; or imd_score, imd_exp_score (IMD 2019 rebuilt from the domain ranks), a domain "
    "such as employment_score, imd_rank_popweighted.",
)
@click.option(
    "--fdr",
    type=click.FloatRange(min=0, max=1, min_open=True, max_open=True),
    default=0.05,
    show_default=True,
    help="False discovery rate (Benjamini-Hochberg, over the wards) of the outlier flags and of "
    "the Gi* hot spots; the uncorrected per-ward p-value and flag are kept in p_value and "
    "outside_pi.",
)
@seed_option
def outliers(
    suppress_below: int | None,
    output_dir: str,
    model: str,
    measure: str | None,
    fdr: float,
    seed: int,
    **inputs: Any,
) -> None:
    """Wards with more or fewer incidents than their deprivation predicts.

    Fits incidents against deprivation across wards and flags each ward whose count is unlikely
    under the model refitted without it (leave-one-out p-value), with the Benjamini-Hochberg false
    discovery rate --fdr over the wards, on a measure without the IMD's crime domain by default.
    Each flagged ward's evidence column tests the readings (stale deprivation data, under-reporting,
    a town-centre population, small numbers) and its label names only those the data support; the
    verdict column combines the model, the funnel plot (over-dispersion-adjusted limits) and
    Getis-Ord Gi* hot/cold spots, with the reason when they disagree.

    Writes outliers.csv, outliers.gpkg (GeoPackage), outliers_scatter.png, outliers_funnel.png,
    outliers.html and outliers_set_aside.csv.

    \b
    Example:
        geo-sppa outliers                                  # ASB, 2013 wards, IMD 2010, NB model
        geo-sppa outliers --measure imd_score              # the overall IMD (partly circular)
        geo-sppa outliers --category "Violence and sexual offences" --suppress-below 5
    """  # noqa: D301
    from geo_sppa import io
    from geo_sppa.cli import run_record as rr
    from geo_sppa.render.outlier_charts import imd_edition
    from geo_sppa.wards.outliers import ward_outliers

    started = rr.run_started()
    if (frames := read_ward_inputs(**inputs)) is None:
        return
    result = ward_outliers(
        **frames,
        measure=measure,
        model=model,
        fdr=fdr,
        rng=seed,
        suppress_below=suppress_below,
    )
    frame, category = result.data, result.rates.category
    out = io.output_dir(output_dir)
    written = _write_outputs(result, out, imd_edition(frames.get("imd_label", "")))
    table = frame.assign(flag=frame["direction"], spot=frame.get("hotspot", ""))
    table = table.sort_values("studentized_residual", key=lambda s: -s.abs().fillna(0))
    click.echo(
        f"{category}: observed against {model} model on {result.measure} "
        f"(leave-one-out, false discovery rate {fdr:g}):"
    )
    columns = ["ward_name", "population", result.measure, *_COLUMNS, "flag", "funnel", "spot"]
    formats = {result.measure: ".1f", **_FORMATS}
    echo_table(table, columns, max_rows=200, formats=formats)
    click.echo("")
    _echo_verdicts(frame)
    click.echo("")
    options = rr.ward_options(
        inputs, measure=measure, model=model, fdr=fdr, seed=seed, suppress_below=suppress_below
    )
    record = rr.finish_run(
        out, command="outliers", written=written, started=started, options=options,
        inputs=rr.ward_input_files(**inputs), counts=rr.ward_counts(frames, result.table),
    )  # fmt: skip
    echo_summary("Run summary", [*result.summary, *record])


def _write_outputs(result: Any, out: Any, edition: str | None) -> list[Any]:
    """Write the outlier table, GeoPackage, set-aside CSV, both charts and the map; return paths."""
    from geo_sppa import io
    from geo_sppa.render.charts import funnel_chart, outlier_scatter
    from geo_sppa.render.maps import self_contained_html, ward_map
    from geo_sppa.render.outlier_charts import period_text

    frame, category = result.data, result.rates.category
    period = period_text(result.rates.months)
    scatter = outlier_scatter(
        frame, result.report.fit, title=result.title, edition=edition, period=period
    )
    funnel = funnel_chart(
        frame, result.report.overdispersion, title=f"{category}: funnel plot", period=period
    )
    page = ward_map(
        frame, layers=result.map_layers, title=result.title,
        category=category, months=result.rates.months,
    )  # fmt: skip
    written = [
        io.write_csv(frame, out / "outliers.csv"),
        io.write_gpkg(frame, out / "outliers.gpkg", layer="outliers"),
        io.write_csv(result.table.set_aside, out / "outliers_set_aside.csv"),
        io.write_png(scatter, out / "outliers_scatter.png"),
        io.write_png(funnel, out / "outliers_funnel.png"),
        io.write_text(self_contained_html(page), out / "outliers.html"),
    ]
    return written


def _echo_verdicts(frame: Any) -> None:
    """Print each flagged ward's label and evidence, then where the methods disagree and why."""
    for row in frame[frame["label"] != ""].itertuples():
        click.echo(f"{row.ward_name}: {row.label}")
        for item in str(row.evidence).split(" | "):
            click.echo(f"  {item}")
    disagree = frame[frame["verdict_reason"] != ""]
    if len(disagree):
        click.echo("\nWhere the funnel or Gi* disagree with the model:")
    for row in disagree.itertuples():
        click.echo(f"{row.ward_name}: {row.verdict}; {row.verdict_reason}")
        if row.label == "" and row.evidence:
            for item in str(row.evidence).split(" | "):
                click.echo(f"  {item}")
