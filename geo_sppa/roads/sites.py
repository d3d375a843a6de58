"""The site frame: one row per cluster site, with counts, costs, type, name and rank.

Columns (:func:`site_columns`): :data:`SITE_COLUMNS`, then one count per calendar year before
``geometry``:

- ``n_<year>``: collisions in the site in each year of the current window (``n_2014``,
  ``n_2015``, ``n_2016``); ``years_counts`` says the same as text (``"2014: 0; 2015: 6; ..."``).
- ``previous_n_<year>``: previous-window collisions in the site's footprint in each year of the
  previous window (``previous_n_2011`` ...), present only when there is a previous window; they
  add up to ``previous_total``, and ``previous_years_counts`` says the same as text (NA without
  a previous window). Filled in by :mod:`geo_sppa.roads.status`.

``site_type`` is the network's (``junction`` / ``link``) in network mode; in radius mode
``junction`` when at least half of the collisions with a known ``at_junction`` were at a junction,
else ``link`` (also when none is known). ``casualties`` is NA unless every collision has a count;
``ksi_casualties`` (fatal or serious casualties, from a ``--casualties`` file) likewise.
``cost_gbp`` sums the DfT value of prevention of each collision (:mod:`geo_sppa.roads.costs`);
``score`` weights collisions by :data:`SCORE_WEIGHTS`.

``footprint`` names the site's own place, which ``site_id`` need not (a site takes the id of the
previous window's site within 50 m, :mod:`geo_sppa.roads.status`): ``J<junction_id>`` for a
junction site (the SPF candidate's key), ``L<route_id>@<start_m>:<end_m>`` for a link site
(route measures in metres, ``f"{x:g}"``) and ``R<x>_<y>`` for a radius site (centre in metres,
``f"{x:.1f}"``). Sites are ranked by :data:`RANK_ORDERS` (``--rank-by``): by default by cost,
then total, then ``site_id``.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_sppa.crs import BNG
from geo_sppa.errors import InputError
from geo_sppa.roads.names import site_names
from geo_sppa.roads.rules import Rule

__all__ = [
    "RANK_LABELS",
    "RANK_ORDERS",
    "SCORE_WEIGHTS",
    "SITE_COLUMNS",
    "SiteContext",
    "counts_by_year",
    "ranked_sites",
    "require_ranking",
    "site_columns",
    "site_frame",
    "year_columns",
]

#: Severity weights of the site ``score`` (a simple harm index; costs are in ``cost_gbp``).
SCORE_WEIGHTS = {"fatal": 10, "serious": 5, "slight": 1}
#: The site frame's fixed columns; :func:`site_columns` adds the per-year counts.
SITE_COLUMNS = [
    "site_id", "footprint", "site_type", "name", "fatal", "serious", "slight", "total",
    "criterion", "casualties", "ksi_casualties", "cost_gbp", "score", "previous_total", "status",
    "x", "y", "rank", "collision_ids", "years_counts", "previous_years_counts", "first_date",
    "last_date", "geometry",
]  # fmt: skip
SEVERITIES = ("fatal", "serious", "slight")

#: Ranking -> the sort keys, each descending, ties broken by ``site_id`` (ascending). ``ksi`` is
#: fatal + serious collisions.
RANK_ORDERS: dict[str, tuple[str, ...]] = {
    "cost": ("cost_gbp", "total"),
    "ksi": ("ksi", "total", "cost_gbp"),
    "total": ("total", "ksi", "cost_gbp"),
    "score": ("score", "cost_gbp", "total"),
    "eb-excess": ("eb_excess", "cost_gbp", "total"),
}
#: What each ranking is, for summaries (``ranked by ...``).
RANK_LABELS = {
    "cost": "casualty cost",
    "ksi": "fatal and serious collisions",
    "total": "injury collisions",
    "score": "severity score",
    "eb-excess": "Empirical Bayes excess collisions",
}


@dataclass(frozen=True)
class SiteContext:
    """What every site frame of one run shares.

    Attributes
    ----------
    rule
        The rule applied (its ``criteria`` label each site).
    window, previous_window
        First and last year of the current and previous windows (None: no previous window).
    costs
        Value of prevention per usable collision, indexed like the usable collisions.
    towns
        Place names to drop from location texts (:func:`geo_sppa.roads.names.town_words`).

    """

    rule: Rule
    window: tuple[int, int]
    previous_window: tuple[int, int] | None
    costs: pd.Series
    towns: frozenset[str]


def year_columns(window: tuple[int, int], previous: tuple[int, int] | None) -> list[str]:
    """Return the per-year count columns: ``n_<year>`` then ``previous_n_<year>``."""
    out = [f"n_{y}" for y in range(window[0], window[1] + 1)]
    if previous is not None:
        out += [f"previous_n_{y}" for y in range(previous[0], previous[1] + 1)]
    return out


def site_columns(window: tuple[int, int], previous: tuple[int, int] | None) -> list[str]:
    """Return every column of a site frame for these windows, in order."""
    return SITE_COLUMNS[:-1] + year_columns(window, previous) + ["geometry"]


def counts_by_year(
    members: list[pd.Index], frame: pd.DataFrame, years: tuple[int, int], prefix: str
) -> pd.DataFrame:
    """Return, per site, its collisions in each year: columns ``<prefix><year>``, int64.

    Parameters
    ----------
    members
        Per site, labels of ``frame``.
    frame
        Collisions with a ``year`` column.
    years
        First and last year (inclusive).
    prefix
        Column name prefix (``"n_"``, ``"previous_n_"``).

    """
    flat, sizes = _member_positions(members, frame)
    return _year_table(flat, sizes, frame, years, prefix)


def _year_table(
    flat: np.ndarray, sizes: np.ndarray, frame: pd.DataFrame, years: tuple[int, int], prefix: str
) -> pd.DataFrame:
    """:func:`counts_by_year` from the members' positions in ``frame`` and each site's count."""
    span = range(years[0], years[1] + 1)
    year = frame["year"].to_numpy(dtype=np.int64)[flat] - years[0]
    site = np.repeat(np.arange(len(sizes)), sizes)
    inside = (year >= 0) & (year < len(span))
    cells = np.bincount(site[inside] * len(span) + year[inside], minlength=len(sizes) * len(span))
    return pd.DataFrame(
        cells.reshape(len(sizes), len(span)).astype(np.int64),
        columns=[f"{prefix}{y}" for y in span],
    )


def _member_positions(
    members: list[pd.Index], frame: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Return the positions in ``frame`` of every member, site by site, and each site's size."""
    sizes = np.array([len(m) for m in members], dtype=np.int64)
    if not sizes.sum():
        return np.empty(0, dtype=np.intp), sizes
    labels = np.concatenate([np.asarray(m) for m in members if len(m)])
    flat = frame.index.get_indexer(pd.Index(labels))
    if (flat < 0).any():
        raise KeyError("a site member label is not in the collision frame")
    return flat, sizes


def years_text(counts: pd.DataFrame, years: tuple[int, int], prefix: str) -> list[str]:
    """Return ``"2014: 0; 2015: 6; 2016: 0"`` per row of a :func:`counts_by_year` table."""
    span = range(years[0], years[1] + 1)
    values = counts[[f"{prefix}{y}" for y in span]].to_numpy(dtype=np.int64)
    return ["; ".join(f"{y}: {v}" for y, v in zip(span, row, strict=True)) for row in values]


def _member_table(
    flat: np.ndarray, sizes: np.ndarray, frame: pd.DataFrame, costs: pd.Series
) -> pd.DataFrame:
    """Return one row per (site, collision), sorted by site, date and collision id.

    ``flat``, ``sizes``: the members' positions in ``frame`` and each site's count.
    """
    at_junction = frame["at_junction"].astype("boolean")
    ksi_cas = (
        frame["ksi_casualties"].astype("Int64")
        if "ksi_casualties" in frame.columns
        else pd.Series(pd.NA, index=frame.index, dtype="Int64")
    )
    return pd.DataFrame(
        {
            "site": np.repeat(np.arange(len(sizes)), sizes),
            # text columns: take the members, then convert (a few rows, not every collision)
            "severity": frame["severity"].take(flat).to_numpy(dtype=object),
            "date": frame["date"].to_numpy()[flat],
            "collision_id": frame["collision_id"].take(flat).astype(str).to_numpy(),
            "cas": frame["casualties"].astype("Int64").fillna(0).to_numpy(dtype=np.int64)[flat],
            "cas_na": frame["casualties"].isna().to_numpy()[flat],
            "kcas": ksi_cas.fillna(0).to_numpy(dtype=np.int64)[flat],
            "kcas_na": ksi_cas.isna().to_numpy()[flat],
            "j_yes": at_junction.eq(True).fillna(False).to_numpy(dtype=bool)[flat],
            "j_no": at_junction.eq(False).fillna(False).to_numpy(dtype=bool)[flat],
            "cost": costs.reindex(frame.index).to_numpy(dtype=float)[flat],
        }
    ).sort_values(["site", "date", "collision_id"], kind="mergesort")


def _known_sums(sums: pd.Series, any_na: pd.Series, n: int) -> pd.api.extensions.ExtensionArray:
    """Return per-site sums as ``Int64``, NA for a site with any collision's count unknown."""
    out = pd.array(sums.to_numpy(dtype=np.int64), dtype="Int64")
    out[any_na.reindex(range(n), fill_value=True).to_numpy(dtype=bool)] = pd.NA
    return out


def _severity_counts(long: pd.DataFrame, n: int) -> dict[str, np.ndarray]:
    """Return fatal, serious, slight, total and ksi counts per site."""
    code = pd.Index(SEVERITIES).get_indexer(pd.Index(long["severity"], dtype=object))
    cells = np.bincount(long["site"].to_numpy(dtype=np.int64)[code >= 0] * 3 + code[code >= 0],
                        minlength=3 * n).reshape(n, 3)  # fmt: skip
    counts = {s: cells[:, i].astype(np.int64) for i, s in enumerate(SEVERITIES)}
    counts["total"] = counts["fatal"] + counts["serious"] + counts["slight"]
    counts["ksi"] = counts["fatal"] + counts["serious"]
    return counts


def _site_types(records: pd.DataFrame, yes: np.ndarray, no: np.ndarray) -> list[str]:
    """Return the records' own site types, else junction when most known collisions were."""
    inferred = np.where((yes > 0) & (yes >= no), "junction", "link")
    return [
        t if isinstance(t, str) else str(i)
        for t, i in zip(records["site_type"], inferred, strict=True)
    ]


def _footprints(records: pd.DataFrame) -> list[str]:
    """Return each record's own footprint key (module docstring), whatever its ``site_id``."""
    n = len(records)

    def column(name: str) -> np.ndarray:
        if name in records.columns:
            return records[name].to_numpy(dtype=object)
        return np.full(n, None, dtype=object)

    kind, junction, route = column("site_type"), column("junction_id"), column("route_id")
    start, end = column("start_m"), column("end_m")
    x, y = records["x"].to_numpy(dtype=float), records["y"].to_numpy(dtype=float)
    return [
        f"J{junction[i]}" if kind[i] == "junction"
        else f"L{route[i]}@{float(start[i]):g}:{float(end[i]):g}" if kind[i] == "link"
        else f"R{x[i]:.1f}_{y[i]:.1f}"
        for i in range(n)
    ]  # fmt: skip


def _names(
    records: pd.DataFrame, positions: list[np.ndarray], frame: pd.DataFrame,
    site_type: list[str], towns: frozenset[str],
) -> list[str]:  # fmt: skip
    """Return the site names, repeated names numbered along their route (else by x, y)."""
    n = len(records)
    route_id = records["route_id"].tolist() if "route_id" in records.columns else None
    route_m = records["route_m"].to_numpy(dtype=float) if "route_m" in records.columns else None
    fallback = records["network_name"].tolist() if "network_name" in records.columns else None
    return site_names(
        positions,
        frame,
        set(towns),
        junction=[t == "junction" for t in site_type],
        centres=records[["x", "y"]].to_numpy(dtype=float).reshape(n, 2),
        fallback=fallback,
        route_id=route_id,
        route_m=route_m,
    )


def site_frame(
    records: pd.DataFrame, members: list[pd.Index], frame: pd.DataFrame, context: SiteContext
) -> gpd.GeoDataFrame:
    """Return the site frame: count, cost, type and name each site from its collisions.

    Parameters
    ----------
    records
        Site records of a scan (:mod:`geo_sppa.roads.scan`): ``site_id``, ``site_type``,
        ``x``, ``y``, ``geometry`` and optionally ``network_name``, ``route_id``, ``route_m``.
    members
        Per record, labels of ``frame``: the collisions counted at the site.
    frame
        The usable collisions (:func:`geo_sppa.roads.usable.usable_collisions`).
    context
        The run's rule, windows, costs and town names.

    Returns
    -------
    GeoDataFrame
        Columns :func:`site_columns`, EPSG:27700, in ``records`` order; ``previous_total``,
        ``previous_years_counts`` and ``previous_n_<year>`` NA, ``status`` ``"new"``, ``rank``
        NA (see :mod:`geo_sppa.roads.status` and :func:`ranked_sites`).

    """
    n = len(members)
    flat, sizes = _member_positions(members, frame)
    long = _member_table(flat, sizes, frame, context.costs)
    counts = _severity_counts(long, n)
    by = long.groupby("site", sort=True)
    sums = by[["cas", "kcas", "j_yes", "j_no", "cost"]].sum().reindex(range(n), fill_value=0)
    casualties, ksi_casualties = (
        _known_sums(sums[col], by[f"{col}_na"].any(), n) for col in ("cas", "kcas")
    )
    site_type = _site_types(records, sums["j_yes"].to_numpy(), sums["j_no"].to_numpy())
    bounds = np.searchsorted(long["site"].to_numpy(dtype=np.int64), np.arange(n + 1))
    ids = long["collision_id"].to_numpy(dtype=object)
    per_year = _year_table(flat, sizes, frame, context.window, "n_")
    rule, none = context.rule, pd.array([pd.NA] * n, dtype="Int64")
    columns = {
        "site_id": records["site_id"].astype(str).to_numpy(),
        "footprint": _footprints(records),
        "site_type": site_type,
        "name": _names(
            records,
            np.split(flat, np.cumsum(sizes)[:-1]) if n else [],
            frame,
            site_type,
            context.towns,
        ),  # fmt: skip
        **{s: counts[s] for s in SEVERITIES},
        "total": counts["total"],
        "criterion": rule.criteria(counts["total"], counts["ksi"]),
        "casualties": casualties,
        "ksi_casualties": ksi_casualties,
        "cost_gbp": sums["cost"].to_numpy(dtype=float),
        "score": np.sum([w * counts[s] for s, w in SCORE_WEIGHTS.items()], axis=0, dtype=np.int64),
        "previous_total": none,
        "status": "new",
        "x": records["x"].to_numpy(dtype=float),
        "y": records["y"].to_numpy(dtype=float),
        "rank": none.copy(),
        "collision_ids": [ids[a:b].tolist() for a, b in zip(bounds[:-1], bounds[1:], strict=True)],
        "years_counts": years_text(per_year, context.window, "n_"),
        "previous_years_counts": pd.array([pd.NA] * n, dtype="string"),
        "first_date": pd.to_datetime(by["date"].min().reindex(range(n)).to_numpy()),
        "last_date": pd.to_datetime(by["date"].max().reindex(range(n)).to_numpy()),
        **{c: per_year[c].to_numpy() for c in per_year.columns},
    }
    if context.previous_window is not None:
        columns |= {c: none.copy() for c in year_columns(context.window, context.previous_window)
                    if c.startswith("previous_")}  # fmt: skip
    out = gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries(list(records["geometry"]), crs=BNG))
    return out[site_columns(context.window, context.previous_window)]


def require_ranking(by: str) -> None:
    """Raise :class:`~geo_sppa.errors.InputError` unless ``by`` is a key of :data:`RANK_ORDERS`."""
    if by not in RANK_ORDERS:
        raise InputError(
            f"unknown ranking {by!r}; expected one of {', '.join(RANK_ORDERS)}; pass --rank-by "
            "with one of them"
        )


def ranked_sites(sites: gpd.GeoDataFrame, *, by: str = "cost") -> gpd.GeoDataFrame:
    """Return ``sites`` ordered by the ranking ``by`` (:data:`RANK_ORDERS`) and ranked 1..n.

    Parameters
    ----------
    sites
        A site frame; not modified.
    by
        ``cost`` (cost, then total), ``ksi`` (fatal + serious, then total, then cost), ``total``
        (then fatal + serious, then cost), ``score`` (then cost, then total) or ``eb-excess``
        (``eb_excess`` of :mod:`geo_sppa.roads.eb`, then cost, then total); each descending,
        ties broken by ``site_id``.

    Returns
    -------
    GeoDataFrame
        A new frame, index 0..n-1, with ``rank`` 1..n.

    Raises
    ------
    InputError
        ``by`` is no ranking.

    """
    require_ranking(by)
    if by == "eb-excess" and "eb_excess" not in sites.columns:
        raise InputError("ranking eb-excess needs the eb_excess column; run with eb=True")
    keys = sites.assign(ksi=sites["fatal"] + sites["serious"])
    order = list(RANK_ORDERS[by]) + ["site_id"]
    ascending = [False] * (len(order) - 1) + [True]
    rows = keys.sort_values(order, ascending=ascending, kind="mergesort").index
    out = sites.loc[rows].reset_index(drop=True)
    out["rank"] = pd.array(np.arange(1, len(out) + 1), dtype="Int64")
    return out
