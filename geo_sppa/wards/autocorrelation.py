"""Spatial checks on ward residuals: global Moran's I and Getis-Ord Gi* hot and cold spots.

Both use queen contiguity (wards sharing a boundary point are neighbours), row-standardised. A
cluster of under-reporting wards shows as a cold spot of residuals, and a significant Moran's I says
the model leaves a spatial pattern the deprivation measure does not explain.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import stats

from geo_sppa.errors import InputError

__all__ = ["MoranResult", "benjamini_hochberg", "hotspots", "queen_weights", "residual_moran"]


@dataclass(frozen=True)
class MoranResult:
    """Global Moran's I of a ward variable.

    Attributes
    ----------
    variable
        Name of the variable tested.
    i
        Moran's I.
    expected
        Its expectation under no autocorrelation, -1 / (n - 1).
    z_norm, p_norm
        Normal-approximation z-score and two-sided p-value (esda, randomisation assumption).
    p_sim
        Pseudo p-value from ``permutations`` random permutations (two-sided, folded), seeded by
        ``rng``.
    permutations
        Number of permutations.
    n
        Number of wards; ``n_islands`` of them have no neighbour.

    """

    variable: str
    i: float
    expected: float
    z_norm: float
    p_norm: float
    p_sim: float
    permutations: int
    n: int
    n_islands: int


def queen_weights(wards: gpd.GeoDataFrame, *, source: str = "wards"):
    """Return row-standardised queen-contiguity weights (libpysal ``W``), in row order.

    ``source`` (the ward file name) prefixes error messages.
    """
    from libpysal.weights import Queen

    if len(wards) < 3:
        raise InputError(
            f"{source}: spatial checks need at least 3 wards; found {len(wards)}: "
            "pass a boundary layer with more wards"
        )
    polygon = wards.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    if not polygon.all():
        bad = wards.loc[~polygon]
        names = bad["ward_name"] if "ward_name" in bad.columns else bad.index.to_series()
        kinds = bad.geom_type.fillna("no geometry")
        listed = ", ".join(f"{n} ({k})" for n, k in list(zip(names, kinds, strict=True))[:3])
        raise InputError(
            f"{source}: spatial checks need ward polygons; {int((~polygon).sum())} ward(s) are "
            f"not polygons: {listed}{', ...' if len(bad) > 3 else ''}; "
            "pass a polygon boundary layer (--wards)"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = Queen.from_dataframe(
            wards.reset_index(drop=True), use_index=False, silence_warnings=True
        )
    w.transform = "r"
    return w


def residual_moran(
    wards: gpd.GeoDataFrame,
    values: pd.Series | np.ndarray,
    *,
    permutations: int = 999,
    rng: np.random.Generator | int | None = None,
    variable: str = "studentized_residual",
    source: str = "wards",
) -> MoranResult:
    """Return Moran's I of ``values`` (indexed like ``wards``) with a seeded permutation test.

    ``source`` (the ward file name) prefixes error messages.
    """
    from esda.moran import Moran

    w = queen_weights(wards, source=source)
    y = np.asarray(values, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mi = Moran(y, w, permutations=0)
    generator = np.random.default_rng(rng)
    z = y - y.mean()
    sparse = w.sparse
    s0 = w.s0
    n = len(y)

    def moran(v: np.ndarray) -> float:
        return float(n / s0 * (v @ (sparse @ v)) / (v @ v))

    observed = moran(z)
    sims = (
        np.array([moran(generator.permutation(z)) for _ in range(permutations)])
        if permutations
        else np.array([])
    )
    if permutations:
        extreme = np.sum(np.abs(sims - sims.mean()) >= abs(observed - sims.mean()))
        p_sim = float((extreme + 1) / (permutations + 1))
    else:
        p_sim = float("nan")
    return MoranResult(
        variable=variable,
        i=float(mi.I),
        expected=float(mi.EI),
        z_norm=float(mi.z_norm),
        p_norm=float(2 * stats.norm.sf(abs(mi.z_norm))),
        p_sim=p_sim,
        permutations=permutations,
        n=n,
        n_islands=len(w.islands),
    )


def benjamini_hochberg(p: pd.Series | np.ndarray) -> np.ndarray:
    """Return Benjamini-Hochberg adjusted p-values (q-values), in the input order."""
    p = np.asarray(p, dtype=float)
    n = len(p)
    order = np.argsort(p)
    ranked = p[order] * n / np.arange(1, n + 1)
    q_sorted = np.minimum.accumulate(ranked[::-1])[::-1]
    q = np.empty(n)
    q[order] = np.minimum(q_sorted, 1.0)
    return q


def hotspots(
    wards: gpd.GeoDataFrame,
    values: pd.Series | np.ndarray,
    *,
    fdr: float = 0.05,
    source: str = "wards",
) -> pd.DataFrame:
    """Return Getis-Ord Gi* hot and cold spots of ``values``, with a false discovery rate control.

    Gi* (``esda.G_Local(star=True)``, binary queen contiguity with each ward counted in its own
    neighbourhood, as in Ord and Getis 1995) is computed on the values shifted to be positive (the
    z-score does not change under a shift; G's ratio form needs a positive sum). Binary, not
    row-standardised, weights: esda's Gi* z-score with row-standardised weights does not match the
    Ord-Getis variance and badly understates clusters. p-values are two-sided from the analytic
    z-score, adjusted with Benjamini-Hochberg. ``source`` (the ward file name) prefixes error
    messages.

    Returns
    -------
    DataFrame
        Indexed like ``wards``: ``gi_z``, ``gi_p``, ``gi_q`` and ``hotspot`` (``hot spot``,
        ``cold spot`` where ``gi_q < fdr``, else empty).

    """
    from esda.getisord import G_Local

    w = queen_weights(wards, source=source)
    w.transform = "b"
    y = np.asarray(values, dtype=float)
    shifted = y - y.min() + 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = G_Local(shifted, w, transform="B", star=True, permutations=0)
    z = np.asarray(g.Zs, dtype=float)
    p = 2 * stats.norm.sf(np.abs(z))
    q = benjamini_hochberg(p)
    label = np.select(
        [(q < fdr) & (z > 0), (q < fdr) & (z < 0)], ["hot spot", "cold spot"], default=""
    )
    return pd.DataFrame({"gi_z": z, "gi_p": p, "gi_q": q, "hotspot": label}, index=wards.index)
