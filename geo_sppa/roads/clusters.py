"""Cluster sites: places where injury collisions concentrate enough to meet a cluster rule.

Two ways to draw a site:

- **radius mode** (no road network; the "data-based clusters" many authorities use): a site is a
  circle of ``rule.radius_m`` metres. Circles are chosen greedily: the candidate circle holding the
  most collisions (then most fatal/serious, then the most compact, then the lowest easting and
  northing) that meets the rule is taken, its collisions and every candidate circle overlapping it
  (centres closer than two radii) are removed, and the scan repeats. Candidate centres are every
  collision location, the midpoint of every pair of locations up to two radii apart (so two
  collisions exactly 100 m apart fit one 50 m circle), and the centroid of each qualifying
  candidate's collisions, re-counted. A collision on the circle's edge is inside (1 micrometre
  tolerance). Each collision belongs to at most one site.
- **network mode** (``roads`` given): junctions and 100 m road windows from
  :mod:`geo_sppa.roads.network`.

Sites are counted over a window of whole calendar years (default: the latest ``rule.years``
complete years in the data, see :func:`data_window`) and compared with the preceding window of
the same length, when the data cover it. The previous window is scanned the same way, and each
current site is matched to the previous-window sites it overlaps (radius mode: centres closer
than two radii; network mode: the same junction, or overlapping stretches of the same chain). A
site is ``persistent`` when a previous-window site overlaps it or the previous window's
collisions in its footprint (``previous_total``) also met the rule, else ``new``; previous-window
sites that no current site overlaps are listed as ``resolved``. Without a previous window,
``previous_total`` is NA and every site is ``new`` (a note says so).

Site ids: a site's own id is, in radius mode, ``R<easting>N<northing>`` of its centre rounded to
10 m, and in network mode the network's ``site_key`` (``J<junction>`` or ``L<chain>@<start_m>``).
A current site that overlaps previous-window sites takes the id of the nearest of them (pairs
matched one to one, nearest first), so the same place keeps its id when its centre or window
shifts a few metres between windows: a site carries the id the previous window's own scan gave
it (one step back: that scan keeps its own ids, not those of the window before it). Ids are unique within a run (a site whose own id was taken by such a
match gets the suffix ``-2``). Radius-mode
``site_type`` is ``junction`` when at least half of the collisions with a known ``at_junction``
were at a junction, else ``link`` (also when none is known). ``casualties`` is NA unless every
collision has a count. ``score`` weights collisions by :data:`SCORE_WEIGHTS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from shapely import points

from geo_sppa.crs import require_bng
from geo_sppa.errors import InputError
from geo_sppa.roads.costs import collision_costs, cost_table_note
from geo_sppa.roads.names import site_name, site_names, town_words
from geo_sppa.roads.radius import EPS_M as _EPS_M
from geo_sppa.roads.radius import radius_scan
from geo_sppa.roads.rules import RULES, Rule, rule_named
from geo_sppa.roads.windows import data_window
from geo_sppa.schema import SET_ASIDE_COLUMNS

__all__ = [
    "SCORE_WEIGHTS",
    "SITE_COLUMNS",
    "ClusterResult",
    "cluster_sites",
    "data_window",
    "radius_scan",
    "site_name",
]

#: Severity weights of the site ``score`` (a simple harm index; costs are in ``cost_gbp``).
SCORE_WEIGHTS = {"fatal": 10, "serious": 5, "slight": 1}
SITE_COLUMNS = [
    "site_id", "site_type", "name", "fatal", "serious", "slight", "total", "criterion",
    "casualties", "cost_gbp", "score", "previous_total", "status", "x", "y", "rank",
    "collision_ids", "years_counts", "first_date", "last_date", "geometry",
]  # fmt: skip
#: Largest radius-mode circle and network-mode link window, metres: a cluster site is a place an
#: engineer can treat, and the scans' memory grows with the square of the radius.
MAX_RADIUS_M = 500.0
MAX_LENGTH_M = 1000.0


@dataclass(frozen=True)
class ClusterResult:
    """Cluster sites for one time window, with what was left out and why.

    Attributes
    ----------
    sites
        One row per site (columns :data:`SITE_COLUMNS`), EPSG:27700, ordered by ``rank``.
        ``status`` is ``persistent`` when a previous-window site overlaps the site (the site then
        carries the nearest one's ``site_id``) or ``previous_total`` meets the rule, else ``new``.
    resolved
        Sites of the previous window's scan that no current site overlaps (radius mode: centres
        at least two radii apart; network mode: another junction and no overlapping stretch of
        the same chain), same columns:
        ``total`` etc. count the current window inside the old footprint, ``previous_total`` the
        previous window; ``status`` is ``"resolved"`` and ``rank`` is NA.
    set_aside
        Collisions that could not be placed (``source, row, record_id, reason, detail``): no
        coordinates, no date, unknown severity, or (network mode) beyond the snap tolerance.
        ``row`` is the 1-based file row from the input's ``source_row`` column (added by
        :func:`geo_sppa.io.read_collisions`), NA when the input has no such column.
    counts
        ``n_read``, ``n_set_aside``, ``n_used`` (read less set aside), ``n_outside_window``,
        ``n_in_window``, ``n_in_sites``, ``n_not_in_sites``, ``n_sites``, ``n_resolved``,
        ``n_previous_window`` (placed collisions in the previous window),
        ``n_previous_set_aside`` (network mode: previous-window collisions beyond the snap
        tolerance, not counted in ``previous_total`` nor listed in ``set_aside``; a note gives
        the number). Always
        ``n_read == n_set_aside + n_outside_window + n_in_sites + n_not_in_sites``.
    mode
        ``"radius"`` or ``"network"``.
    window, previous_window
        First and last calendar year of the window (inclusive); ``previous_window`` is None when
        the data do not reach back over the whole preceding window.
    rule
        The rule applied.
    cost_table
        One line naming the value-of-prevention figures used.
    notes
        One-line notes for the run summary.
    site_of
        Per input row (indexed like the input): the ``site_id`` it belongs to, or NA.

    """

    sites: gpd.GeoDataFrame
    resolved: gpd.GeoDataFrame
    set_aside: pd.DataFrame
    counts: dict[str, int]
    mode: str
    window: tuple[int, int]
    previous_window: tuple[int, int] | None
    rule: Rule
    cost_table: str
    notes: tuple[str, ...] = ()
    site_of: pd.Series = field(default_factory=lambda: pd.Series(dtype="string"))


# --------------------------------------------------------------------------- inputs


def _usable(collisions: gpd.GeoDataFrame, source: str) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Return the collisions that can be placed and dated, and the set-aside rows."""
    if not isinstance(collisions, gpd.GeoDataFrame):
        raise InputError("collisions: expected a GeoDataFrame (use geo_sppa.io.read_collisions)")
    missing = [c for c in ("collision_id", "date", "severity") if c not in collisions.columns]
    if missing:
        raise InputError(
            f"collisions: no column {', '.join(missing)}; expected the normalised columns of "
            "geo_sppa.io.read_collisions (collision_id, date, severity, geometry, ...)"
        )
    require_bng(collisions, what="collisions")
    frame = collisions.reset_index(drop=True)  # positions as labels; mapped back by the caller
    for column in ("casualties", "road_number", "location", "at_junction"):
        if column not in frame.columns:
            frame[column] = pd.NA
    frame["collision_id"] = frame["collision_id"].astype("string")
    frame["date"] = pd.to_datetime(frame["date"], errors="coerce")
    frame["severity"] = frame["severity"].astype("string").str.strip().str.lower()
    geom = frame.geometry
    no_xy = (geom.isna() | geom.is_empty).to_numpy().copy()
    no_xy[~no_xy] = (geom[~no_xy].geom_type != "Point").to_numpy()
    no_date = frame["date"].isna().to_numpy() & ~no_xy
    bad_sev = ~frame["severity"].isin(["fatal", "serious", "slight"]).fillna(False).to_numpy()
    bad_sev &= ~no_xy & ~no_date
    reasons = np.select(
        [no_xy, no_date, bad_sev],
        ["missing coordinates", "unparseable date", "unknown severity"],
        "",
    )
    out = reasons != ""
    set_aside = pd.DataFrame(
        {
            "source": source,
            "row": _source_rows(frame, out),
            "record_id": frame["collision_id"].to_numpy()[out],
            "reason": reasons[out],
            "detail": [
                f"severity {s!r}" if r == "unknown severity" else ""
                for r, s in zip(reasons[out], frame["severity"].to_numpy()[out], strict=True)
            ],
        },
        columns=SET_ASIDE_COLUMNS,
    )
    usable = frame.loc[~out].copy()
    usable["year"] = usable["date"].dt.year.astype(int)
    usable["_x"] = usable.geometry.x.to_numpy()
    usable["_y"] = usable.geometry.y.to_numpy()
    usable = usable.sort_values(["_x", "_y", "collision_id", "date"], kind="mergesort")
    return usable, set_aside


def _source_rows(frame: pd.DataFrame, which: np.ndarray | pd.Index) -> pd.array:
    """File rows (1-based) of the selected rows: the loader's ``source_row`` column, else NA.

    A position in ``frame`` is not a file row (the loader has already set rows aside), so
    without ``source_row`` the row is unknown.
    """
    picked = frame.loc[which] if isinstance(which, pd.Index) else frame[which]
    if "source_row" not in frame.columns:
        return pd.array([pd.NA] * len(picked), dtype="Int64")
    return pd.array(pd.to_numeric(picked["source_row"], errors="coerce"), dtype="Int64")


def _check_rule(rule: Rule) -> None:
    """Refuse rules whose sites are not cluster sites (and whose scans would exhaust memory)."""
    if rule.radius_m > MAX_RADIUS_M:
        raise InputError(
            f"radius {rule.radius_m:g} m is larger than a cluster site (at most "
            f"{MAX_RADIUS_M:g} m); pass a radius of {MAX_RADIUS_M:g} m or less (e.g. 50)"
        )
    if rule.length_m > MAX_LENGTH_M:
        raise InputError(
            f"link length {rule.length_m:g} m is longer than a cluster site (at most "
            f"{MAX_LENGTH_M:g} m); pass a length of {MAX_LENGTH_M:g} m or less (e.g. 100)"
        )
    for clause in rule.clauses:
        if max(clause.min_total, clause.min_ksi) < 2:
            which = "fatal/serious collision" if clause.min_ksi >= 1 else "collision"
            raise InputError(
                f"a cluster needs at least 2 collisions; clause {clause.min_total}:"
                f"{clause.min_ksi} would make every {which} a site; give each clause a total "
                "or fatal/serious count of 2 or more (e.g. 6:0 or 0:3)"
            )


# --------------------------------------------------------------------------- site geometry per mode


class _Radius:
    """Radius-mode scan, footprint and overlap test."""

    mode = "radius"

    def __init__(self, rule: Rule):
        self.rule = rule
        self.radius = float(rule.radius_m)

    def scan(self, frame: pd.DataFrame) -> pd.DataFrame:
        xy = frame[["_x", "_y"]].to_numpy()
        ksi = frame["severity"].isin(["fatal", "serious"]).to_numpy()
        found = radius_scan(xy, ksi, self.rule)
        x = np.array([c[0] for c, _ in found], dtype=float)
        y = np.array([c[1] for c, _ in found], dtype=float)
        return pd.DataFrame(
            {
                "site_id": [
                    f"R{round(a, -1):.0f}N{round(b, -1):.0f}" for a, b in zip(x, y, strict=True)
                ],
                "site_type": None,
                "network_name": None,
                "x": x,
                "y": y,
                "geometry": points(np.column_stack([x, y])) if len(x) else [],
                "members": [frame.index[m] for _, m in found],
            }
        )

    def footprint(self, frame: pd.DataFrame, sites: pd.DataFrame) -> list[pd.Index]:
        if len(sites) == 0:
            return []
        if len(frame) == 0:
            return [frame.index[:0] for _ in range(len(sites))]
        tree = cKDTree(frame[["_x", "_y"]].to_numpy())
        hits = tree.query_ball_point(sites[["x", "y"]].to_numpy(), self.radius + _EPS_M)
        return [frame.index[np.sort(np.asarray(h, dtype=np.int64))] for h in hits]

    def overlaps(self, current: pd.DataFrame, previous: pd.DataFrame) -> tuple[np.ndarray, ...]:
        """Return (current position, previous position) pairs of circles that overlap."""
        if len(current) == 0 or len(previous) == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        tree = cKDTree(previous[["x", "y"]].to_numpy())
        hits = tree.query_ball_point(current[["x", "y"]].to_numpy(), 2 * self.radius - _EPS_M)
        sizes = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
        flat = [np.asarray(h, dtype=np.int64) for h in hits]
        prev = np.concatenate(flat) if sizes.sum() else np.empty(0, dtype=np.int64)
        return np.repeat(np.arange(len(current)), sizes), prev


class _Network:
    """Network-mode scan (junctions and 100 m links), via geo_sppa.roads.network."""

    mode = "network"

    def __init__(self, rule: Rule, network: Any, module: Any):
        self.rule, self.network, self.net = rule, network, module

    def scan(self, frame: pd.DataFrame) -> pd.DataFrame:
        raw = self.net.network_sites(frame, self.network, self.rule)
        return self._records(raw, [pd.Index(m) for m in raw["members"]])

    def _records(self, raw: gpd.GeoDataFrame, members: list[pd.Index]) -> pd.DataFrame:
        geoms = gpd.GeoSeries(raw.geometry.to_numpy(), crs=raw.crs)
        lines = geoms.geom_type.isin(["LineString", "MultiLineString"]).to_numpy()
        centres = geoms.representative_point()
        centres[lines] = geoms[lines].interpolate(0.5, normalized=True)
        out = pd.DataFrame(raw.drop(columns=["members", "geometry"])).reset_index(drop=True)
        out["site_id"] = raw["site_key"].astype(str).to_numpy()
        out["network_name"] = raw["name"].to_numpy() if "name" in raw else None
        out["x"], out["y"] = centres.x.to_numpy(), centres.y.to_numpy()
        out["geometry"] = geoms.to_numpy()
        out["members"] = members
        return out

    def footprint(self, frame: pd.DataFrame, sites: pd.DataFrame) -> list[pd.Index]:
        if len(sites) == 0:
            return []
        raw = gpd.GeoDataFrame(sites.drop(columns=["members"]), geometry="geometry", crs=27700)
        return [pd.Index(m) for m in self.net.members_of_sites(frame, raw)]

    def overlaps(self, current: pd.DataFrame, previous: pd.DataFrame) -> tuple[np.ndarray, ...]:
        """Return (current, previous) position pairs: same junction, or overlapping stretches
        (open intervals of ``start_m``-``end_m``) of the same chain.
        """
        keys = []
        for frame in (current, previous):
            keys.append(pd.DataFrame({
                "pos": np.arange(len(frame)),
                "site_id": frame["site_id"].astype(str).to_numpy(),
                "link": (frame["site_type"] == "link").to_numpy(dtype=bool),
                "chain": frame["chain_id"].astype(str).to_numpy() if "chain_id" in frame else "",
                "start": frame["start_m"].to_numpy(dtype=float) if "start_m" in frame else np.nan,
                "end": frame["end_m"].to_numpy(dtype=float) if "end_m" in frame else np.nan,
            }))  # fmt: skip
        cur, old = keys
        same = cur.merge(old, on="site_id", suffixes=("_c", "_p"))
        links = cur[cur["link"]].merge(old[old["link"]], on="chain", suffixes=("_c", "_p"))
        links = links[(links["start_c"] < links["end_p"]) & (links["start_p"] < links["end_c"])]
        pairs = pd.concat([same[["pos_c", "pos_p"]], links[["pos_c", "pos_p"]]])
        pairs = pairs.drop_duplicates().sort_values(["pos_c", "pos_p"])
        return pairs["pos_c"].to_numpy(dtype=np.int64), pairs["pos_p"].to_numpy(dtype=np.int64)


# --------------------------------------------------------------------------- site frame


def _site_frame(
    records: pd.DataFrame,
    members: list[pd.Index],
    frame: pd.DataFrame,
    *,
    rule: Rule,
    window: tuple[int, int],
    costs: pd.Series,
    towns: set[str],
) -> gpd.GeoDataFrame:
    """Count, cost, type and name each site from its member collisions (labels of ``frame``)."""
    n = len(members)
    pos = [frame.index.get_indexer(m) for m in members]
    sizes = np.array([len(p) for p in pos], dtype=np.int64)
    flat = np.concatenate(pos) if n and sizes.sum() else np.empty(0, dtype=np.int64)
    long = pd.DataFrame(
        {
            "site": np.repeat(np.arange(n), sizes),
            "severity": frame["severity"].to_numpy(dtype=object)[flat],
            "date": frame["date"].to_numpy()[flat],
            "collision_id": frame["collision_id"].astype(str).to_numpy()[flat],
            "year": frame["year"].to_numpy()[flat],
            "cas": frame["casualties"].astype("Int64").fillna(0).to_numpy(dtype=np.int64)[flat],
            "cas_na": frame["casualties"].isna().to_numpy()[flat],
            "j_yes": frame["at_junction"].astype("boolean").eq(True).fillna(False).to_numpy()[flat],
            "j_no": frame["at_junction"].astype("boolean").eq(False).fillna(False).to_numpy()[flat],
            "cost": costs.to_numpy()[flat],
        }
    ).sort_values(["site", "date", "collision_id"], kind="mergesort")
    by = long.groupby("site", sort=True)
    sev = pd.crosstab(long["site"], long["severity"]).reindex(
        index=range(n), columns=["fatal", "serious", "slight"], fill_value=0
    )
    counts = {s: sev[s].to_numpy(dtype=np.int64) for s in ("fatal", "serious", "slight")}
    total = counts["fatal"] + counts["serious"] + counts["slight"]
    ksi = counts["fatal"] + counts["serious"]
    sums = by[["cas", "j_yes", "j_no", "cost"]].sum().reindex(range(n), fill_value=0)
    no_count = by["cas_na"].any().reindex(range(n), fill_value=True).to_numpy(dtype=bool)
    casualties = pd.array(sums["cas"].to_numpy(dtype=np.int64), dtype="Int64")
    casualties[no_count] = pd.NA
    yes, no = sums["j_yes"].to_numpy(), sums["j_no"].to_numpy()
    inferred = np.where((yes > 0) & (yes >= no), "junction", "link")
    site_type = [
        t if isinstance(t, str) else i for t, i in zip(records["site_type"], inferred, strict=True)
    ]
    names = site_names(
        pos,
        frame,
        towns,
        junction=[t == "junction" for t in site_type],
        centres=records[["x", "y"]].to_numpy(dtype=float),
        fallback=list(records.get("network_name", [None] * n)),
    )
    ids = by["collision_id"].agg(list).reindex(range(n))
    per_year = long.groupby(["site", "year"]).size()
    years = range(window[0], window[1] + 1)
    out = gpd.GeoDataFrame(
        {
            "site_id": records["site_id"].astype(str).to_numpy(),
            "site_type": site_type,
            "name": names,
            "fatal": counts["fatal"],
            "serious": counts["serious"],
            "slight": counts["slight"],
            "total": total,
            "criterion": rule.criteria(total, ksi),
            "casualties": casualties,
            "cost_gbp": sums["cost"].to_numpy(dtype=float),
            "score": sum(SCORE_WEIGHTS[s] * counts[s] for s in SCORE_WEIGHTS).astype(np.int64),
            "previous_total": pd.array([pd.NA] * n, dtype="Int64"),
            "status": "new",
            "x": records["x"].to_numpy(dtype=float),
            "y": records["y"].to_numpy(dtype=float),
            "rank": pd.array([pd.NA] * n, dtype="Int64"),
            "collision_ids": [i if isinstance(i, list) else [] for i in ids],
            "years_counts": [
                "; ".join(f"{y}: {int(per_year.get((i, y), 0))}" for y in years) for i in range(n)
            ],
            "first_date": pd.to_datetime(by["date"].min().reindex(range(n)).to_numpy()),
            "last_date": pd.to_datetime(by["date"].max().reindex(range(n)).to_numpy()),
        },
        geometry=gpd.GeoSeries(list(records["geometry"]), crs=27700),
    )
    return out[SITE_COLUMNS]


def _ranked(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    order = sites.sort_values(
        ["cost_gbp", "total", "site_id"], ascending=[False, False, True], kind="mergesort"
    )
    out = order.reset_index(drop=True)
    out["rank"] = pd.array(np.arange(1, len(out) + 1), dtype="Int64")
    return out


# --------------------------------------------------------------------------- entry point


def cluster_sites(
    collisions: gpd.GeoDataFrame,
    *,
    roads: gpd.GeoDataFrame | None = None,
    rule: Rule | str = RULES["spp"],
    years: tuple[int, int] | None = None,
    price_year: int | None = None,
    snap_tolerance_m: float = 30.0,
    junction_merge_m: float = 15.0,
    cost_table: pd.DataFrame | None = None,
    source: str = "collisions",
) -> ClusterResult:
    """Return the cluster sites of ``collisions`` under ``rule``, with the previous-window status.

    Parameters
    ----------
    collisions
        Normalised collisions (see ``docs/architecture.md``), EPSG:27700; not modified.
    roads
        Road lines (``geo_sppa.io.read_roads``). Given: network mode (junctions and
        ``rule.length_m`` windows of road); None: radius mode (``rule.radius_m`` circles).
    rule
        A :class:`~geo_sppa.roads.rules.Rule` or a preset name (``"spp"``).
    years
        ``(first, last)`` calendar years, inclusive; default the latest ``rule.years`` complete
        years in the data.
    price_year
        Price year of the DfT values of prevention; default the latest in the table.
    snap_tolerance_m
        Network mode: collisions farther than this from every road are set aside, metres.
    junction_merge_m
        Network mode: road nodes closer than this form one junction, metres.
    cost_table
        A replacement value-of-prevention table (see :mod:`geo_sppa.roads.costs`).
    source
        Name for the set-aside records (e.g. the collisions file name).

    Returns
    -------
    ClusterResult
        Ranked sites, resolved sites, set-aside rows, counts and notes.

    Examples
    --------
    >>> result = cluster_sites(collisions)  # doctest: +SKIP
    >>> result.sites[["rank", "name", "total", "cost_gbp"]].head()  # doctest: +SKIP

    Raises
    ------
    InputError
        Missing columns, wrong CRS, no dated collisions, a window outside the data's years,
        unknown rule or price year, a radius over 500 m or link length over 1000 m, or a rule
        clause met by a single collision.

    """
    rule = rule_named(rule) if isinstance(rule, str) else rule
    _check_rule(rule)
    usable, set_aside = _usable(collisions, source)
    window, previous, notes = data_window(usable["date"], years=rule.years, window=years)
    cost_note = cost_table_note(price_year, table=cost_table)
    costs = collision_costs(usable["severity"], price_year=price_year, table=cost_table)
    in_cur = usable["year"].between(*window)
    in_prev = (
        usable["year"].between(*previous) if previous else pd.Series(False, index=usable.index)
    )
    n_prev_lost = 0
    if roads is None:
        engine: _Radius | _Network = _Radius(rule)
        placed = usable
    else:
        engine, placed, lost = _snapped(usable[in_cur | in_prev], roads, rule, snap_tolerance_m,
                                        junction_merge_m)  # fmt: skip
        lost_cur = lost.index[in_cur.loc[lost.index].to_numpy()]
        if len(lost_cur) and len(lost_cur) == int(in_cur.sum()):
            raise InputError(
                f"roads: none of the {len(lost_cur):,} collisions in {window[0]}-{window[1]} lies within "
                f"{snap_tolerance_m:g} m of a road; check that the road layer covers the same area (and "
                "declares the right CRS), or raise --snap-tolerance-m"
            )
        n_prev_lost = len(lost) - len(lost_cur)
        set_aside = pd.concat([set_aside, _snap_set_aside(usable, lost_cur, lost, source)])
        notes.append(f"Network mode: collisions snapped to roads within {snap_tolerance_m:g} m")
        if previous is not None and n_prev_lost:
            notes.append(
                f"previous window {previous[0]}-{previous[1]}: {n_prev_lost} collisions beyond "
                "the snap tolerance not counted in previous_total"
            )
    cur_frame = placed[placed.index.isin(usable.index[in_cur])]
    prev_frame = placed[placed.index.isin(usable.index[in_prev])]

    records = engine.scan(cur_frame)
    kw = dict(rule=rule, window=window, costs=costs, towns=town_words(usable["location"]))
    sites = _site_frame(records, list(records["members"]), usable, **kw)
    keep = rule.qualifies(sites["total"].to_numpy(), (sites["fatal"] + sites["serious"]).to_numpy())
    sites, records = sites[keep].reset_index(drop=True), records[keep].reset_index(drop=True)
    resolved = _site_frame(records.iloc[0:0], [], usable, **kw)
    if previous is not None:
        old = engine.scan(prev_frame)
        cur_pos, old_pos = engine.overlaps(records, old)
        ids = _inherited_ids(records, old, cur_pos, old_pos)
        records = records.assign(site_id=ids)
        overlapped = np.isin(np.arange(len(records)), cur_pos)
        prev_members = engine.footprint(prev_frame, records)
        sites = _with_previous(sites.assign(site_id=ids), prev_members, usable, rule, overlapped)
        old = old[~np.isin(np.arange(len(old)), old_pos)].reset_index(drop=True)
        resolved = _resolved(_site_frame(old, engine.footprint(cur_frame, old), usable, **kw), old)

    site_of = np.full(len(collisions), None, dtype=object)
    sizes = [len(m) for m in records["members"]]
    if sum(sizes):
        labels = np.concatenate([np.asarray(m, dtype=np.int64) for m in records["members"]])
        site_of[labels] = np.repeat(records["site_id"].to_numpy(dtype=object), sizes)
    in_sites = int(pd.notna(site_of).sum())
    counts = {
        "n_read": len(collisions),
        "n_set_aside": len(set_aside),
        "n_used": len(collisions) - len(set_aside),
        "n_outside_window": int((~in_cur).sum()),
        "n_in_window": len(cur_frame),
        "n_in_sites": in_sites,
        "n_not_in_sites": len(cur_frame) - in_sites,
        "n_sites": len(sites),
        "n_resolved": len(resolved),
        "n_previous_window": len(prev_frame),
        "n_previous_set_aside": n_prev_lost,
    }
    weights = " + ".join(f"{w} x {s}" for s, w in SCORE_WEIGHTS.items())
    notes.append(f"Score = {weights} collisions")
    return ClusterResult(
        sites=_ranked(sites),
        resolved=resolved,
        set_aside=set_aside.reset_index(drop=True),
        counts=counts,
        mode=engine.mode,
        window=window,
        previous_window=previous,
        rule=rule,
        cost_table=cost_note,
        notes=tuple(notes),
        site_of=pd.Series(site_of, index=collisions.index, name="site_id", dtype="string"),
    )


def _snapped(
    wanted: pd.DataFrame, roads: gpd.GeoDataFrame, rule: Rule, tolerance_m: float, merge_m: float
) -> tuple[_Network, pd.DataFrame, pd.DataFrame]:
    """Network mode: build the network, snap; return the engine, snapped rows and lost rows."""
    from geo_sppa.roads import network as net

    graph = net.road_network(roads, junction_merge_m=merge_m)
    snapped = net.snapped_collisions(
        wanted, graph, tolerance_m=tolerance_m, junction_radius_m=rule.junction_radius_m
    )
    lost = wanted.loc[wanted.index.difference(snapped.snapped.index), ["collision_id"]]
    detail = {}
    reported = snapped.set_aside
    if reported is not None and len(reported) and {"record_id", "detail"} <= set(reported.columns):
        detail = dict(
            zip(reported["record_id"].astype(str), reported["detail"].astype(str), strict=True)
        )
    lost["detail"] = [detail.get(str(i), "") for i in lost["collision_id"]]
    return _Network(rule, graph, net), snapped.snapped, lost


def _resolved(frame: gpd.GeoDataFrame, old: pd.DataFrame) -> gpd.GeoDataFrame:
    """Previous-window sites no current site overlaps: ``previous_total`` is their old count."""
    out = frame.copy()
    out["previous_total"] = pd.array([len(m) for m in old["members"]], dtype="Int64")
    out["status"] = "resolved"
    out = out.sort_values(["previous_total", "site_id"], ascending=[False, True], kind="mergesort")
    return out.reset_index(drop=True)


def _inherited_ids(
    current: pd.DataFrame, old: pd.DataFrame, cur_pos: np.ndarray, old_pos: np.ndarray
) -> np.ndarray:
    """Return the current sites' ids, each taking the id of the nearest previous site it overlaps.

    Pairs are matched nearest first (then by id), one to one, so no two current sites take the
    same id; a current site whose own id an earlier match took gets the suffix ``-2``.
    """
    ids = current["site_id"].astype(str).to_numpy(dtype=object).copy()
    old_ids = old["site_id"].astype(str).to_numpy(dtype=object)
    if len(cur_pos) == 0:
        return ids
    cxy, oxy = current[["x", "y"]].to_numpy(dtype=float), old[["x", "y"]].to_numpy(dtype=float)
    dist = np.hypot(*(cxy[cur_pos] - oxy[old_pos]).T)
    order = np.lexsort((old_ids[old_pos].astype(str), ids[cur_pos].astype(str), dist))
    matched_cur: set[int] = set()
    matched_old: set[int] = set()
    for k in order:
        c, o = int(cur_pos[k]), int(old_pos[k])
        if c in matched_cur or o in matched_old:
            continue
        ids[c] = old_ids[o]
        matched_cur.add(c)
        matched_old.add(o)
    taken = {ids[c] for c in matched_cur}
    for c in range(len(ids)):
        if c not in matched_cur and ids[c] in taken:
            ids[c] = f"{ids[c]}-2"
    return ids


def _with_previous(
    sites: gpd.GeoDataFrame,
    members: list[pd.Index],
    frame: pd.DataFrame,
    rule: Rule,
    overlapped: np.ndarray,
) -> gpd.GeoDataFrame:
    """Add previous_total and status: persistent when a previous-window site overlaps the site
    or its footprint's previous-window collisions met the rule, else new.
    """
    sev = frame["severity"]
    total = np.array([len(m) for m in members], dtype=np.int64)
    ksi = np.array(
        [int(sev.loc[m].isin(["fatal", "serious"]).sum()) for m in members], dtype=np.int64
    )
    out = sites.copy()
    out["previous_total"] = pd.array(total, dtype="Int64")
    out["status"] = np.where(rule.qualifies(total, ksi) | overlapped, "persistent", "new")
    return out


def _snap_set_aside(
    usable: pd.DataFrame, lost: pd.Index, detail: pd.DataFrame, source: str
) -> pd.DataFrame:
    """Set-aside rows for current-window collisions the network could not take."""
    return pd.DataFrame(
        {
            "source": source,
            "row": _source_rows(usable, lost),
            "record_id": usable.loc[lost, "collision_id"].astype(str).to_numpy(),
            "reason": "beyond snap tolerance",
            "detail": detail.loc[lost, "detail"].to_numpy(),
        },
        columns=SET_ASIDE_COLUMNS,
    )
