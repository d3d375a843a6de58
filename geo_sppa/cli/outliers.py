"""``geo-sppa outliers``: wards far from what their deprivation predicts."""

from __future__ import annotations

import click

from geo_sppa.cli.options import echo_summary, echo_table
from geo_sppa.cli.wards import load_ward_rates, summary_lines, ward_input_options, write_ward_map

__all__ = ["outliers"]


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
    help="Deprivation column to model on: imd_score (default with IMD 2010), imd_no_crime_score "
    "(IMD recombined without its crime domain), a domain such as income_score, or "
    "imd_rank_popweighted (default with IMD 2019, which has no scores).",
)
@click.option(
    "--seed",
    type=int,
    default=12345,
    show_default=True,
    help="Seed of the Moran's I permutation test.",
)
def outliers(suppress_below, output_dir, model, measure, seed, **inputs) -> None:
    """Wards with more or fewer incidents than their deprivation predicts.

    Fits incidents against deprivation across wards and flags each ward whose count is outside its
    leave-one-out 95% prediction interval (the model refitted without the ward): "fewer than
    deprivation predicts (possible under-reporting)" or "more than deprivation predicts (check
    whether the deprivation data are out of date, e.g. new housing)". Also: a funnel plot with
    over-dispersion-adjusted limits, Moran's I of the residuals and Getis-Ord Gi* hot/cold spots
    (false discovery rate 5%).

    Writes outliers.csv, outliers.gpkg (GeoPackage), outliers_scatter.png, outliers_funnel.png,
    outliers.html and outliers_set_aside.csv.

    \b
    Example:
        geo-sppa outliers                                  # ASB, 2013 wards, IMD 2010, NB model
        geo-sppa outliers --measure imd_no_crime_score     # avoid the circular crime domain
        geo-sppa outliers --category "Violence and sexual offences" --suppress-below 5
    """  # noqa: D301
    import pandas as pd

    from geo_sppa import io
    from geo_sppa.render.charts import funnel_chart, outlier_scatter
    from geo_sppa.wards.disclosure import suppress_small_counts
    from geo_sppa.wards.outliers import outlier_report

    loaded_all = load_ward_rates(**inputs)
    if loaded_all is None:
        return
    result, loaded, described = loaded_all
    measure = measure or result.imd_measure
    if measure is None:
        from geo_sppa.errors import InputError

        raise InputError("outliers need a deprivation measure; pass --imd 2010|2019|PATH")
    report = outlier_report(
        result.data,
        measure=measure,
        model=model,
        rng=seed,
        category=result.category,
        source=described["ward_source"],
    )
    frame = report.data
    if suppress_below:
        frame = suppress_small_counts(frame, threshold=suppress_below)
    out = io.output_dir(output_dir)
    set_aside = pd.concat([loaded.set_aside, result.set_aside], ignore_index=True)
    written = [
        io.write_csv(frame, out / "outliers.csv"),
        io.write_gpkg(frame, out / "outliers.gpkg", layer="outliers"),
        io.write_csv(set_aside, out / "outliers_set_aside.csv"),
    ]
    title = f"{result.category}, {len(result.months)} months: wards against {measure}"
    for name, figure in (
        ("outliers_scatter.png", outlier_scatter(frame, report.fit, title=title)),
        (
            "outliers_funnel.png",
            funnel_chart(frame, report.overdispersion, title=f"{result.category}: funnel plot"),
        ),
    ):
        written.append(io.write_png(figure, out / name))
    layers = tuple(c for c in ("label", measure, "rate_per_1000", "hotspot") if c in frame.columns)
    html = write_ward_map(frame, out / "outliers.html", layers=layers, title=title)
    if html:
        written.append(html)

    table = frame.assign(flag=frame["direction"], spot=frame.get("hotspot", ""))
    table = table.sort_values("studentized_residual", key=lambda s: -s.abs().fillna(0))
    click.echo(
        f"{result.category}: observed against {model} model on {measure} "
        "(95% leave-one-out interval):"
    )
    echo_table(
        table,
        [
            "ward_name",
            "population",
            measure,
            "observed",
            "expected",
            "pi_low",
            "pi_high",
            "studentized_residual",
            "cooks_distance",
            "flag",
            "funnel",
            "spot",
        ],
        max_rows=200,
        formats={
            measure: ".1f",
            "expected": ".1f",
            "pi_low": ".0f",
            "pi_high": ".0f",
            "population": ",.0f",
            "studentized_residual": ".2f",
            "cooks_distance": ".2f",
        },
    )
    flagged = frame[frame["label"] != ""]
    click.echo("")
    for _, row in flagged.iterrows():
        click.echo(f"{row['ward_name']}: {row['label']}")
    click.echo("")
    fit = report.fit
    lines = summary_lines(result, loaded, described, suppress_below=suppress_below)
    slope = fit.params[measure]
    if fit.model == "ols":
        sign = "-" if slope < 0 else "+"
        equation = f"rate per 1,000 = {fit.params['const']:.3f} {sign} {abs(slope):.3g} x {measure}"
    else:
        equation = (
            f"log(count / population) = {fit.params['const']:.3f} {'-' if slope < 0 else '+'} "
            f"{abs(slope):.3g} x {measure}"
        )
    extra = f"; alpha = {fit.alpha:.3f}" if fit.model == "nb" else ""
    extra += f"; Pearson dispersion {fit.pearson_dispersion:.2f}" if fit.model != "ols" else ""
    lines.append(("model", f"{fit.model} ({fit.n} wards): {equation}{extra}; AIC {fit.aic:.1f}"))
    if report.moran is not None:
        m = report.moran
        lines.append(
            (
                "Moran's I",
                f"{m.i:.3f} (expected {m.expected:.3f}; "
                f"permutation p = {m.p_sim:.3f}, seed {seed})",
            )
        )
    if suppress_below:
        lines.append(
            (
                "disclosure",
                f"counts below {suppress_below} suppressed: 1-{suppress_below - 1} shown as "
                f"<{suppress_below}, their rates and residuals blanked and not labelled on "
                "charts, the exact total withheld; model fits (expected counts, coefficients) "
                "use the exact counts",
            )
        )
    lines += [("note", n) for n in report.notes]
    lines += [("wrote", str(p)) for p in written]
    echo_summary("Run summary", lines)
