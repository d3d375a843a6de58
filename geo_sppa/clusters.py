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
  :mod:`geo_sppa.network`.

Sites are counted over a window of whole calendar years (default: the latest ``rule.years``
complete years in the data, see :func:`data_window`) and compared with the preceding window of
the same length, when the data cover it: a site is ``persistent`` when the previous window's
collisions in its footprint also met the rule, else ``new``; previous-window sites that no current
site overlaps are listed as ``resolved``. Without a previous window, ``previous_total`` is NA and
every site is ``new`` (a note says so).

Site frame conventions: radius-mode ``site_id`` is ``R<easting>N<northing>`` of the centre rounded
to 10 m (sites are at least 100 m apart, so ids are unique, and the same place keeps its id across
runs and windows); network-mode ``site_id`` is the network's ``site_key``. Radius-mode
``site_type`` is ``junction`` when at least half of the collisions with a known ``at_junction``
were at a junction, else ``link`` (also when none is known). ``casualties`` is NA unless every
collision has a count. ``score`` weights collisions by :data:`SCORE_WEIGHTS`.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from shapely import STRtree, points

from geo_sppa.costs import collision_costs, cost_table_note
from geo_sppa.errors import InputError
from geo_sppa.rules import RULES, Rule, rule_named

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
SET_ASIDE_COLUMNS = ["source", "row", "record_id", "reason", "detail"]
_EPS_M = 1e-6  # edge tolerance: a collision exactly on a circle's edge is inside


@dataclass(frozen=True)
class ClusterResult:
    """Cluster sites for one time window, with what was left out and why.

    Attributes
    ----------
    sites
        One row per site (columns :data:`SITE_COLUMNS`), EPSG:27700, ordered by ``rank``.
    resolved
        Sites of the previous window's scan that no current site overlaps, same columns:
        ``total`` etc. count the current window inside the old footprint, ``previous_total`` the
        previous window; ``status`` is ``"resolved"`` and ``rank`` is NA.
    set_aside
        Collisions that could not be placed (``source, row, record_id, reason, detail``): no
        coordinates, no date, unknown severity, or (network mode) beyond the snap tolerance.
    counts
        ``n_read``, ``n_set_aside``, ``n_used`` (read less set aside), ``n_outside_window``,
        ``n_in_window``, ``n_in_sites``, ``n_not_in_sites``, ``n_sites``, ``n_resolved``,
        ``n_previous_window`` (placed collisions in the previous window),
        ``n_previous_set_aside`` (network mode: previous-window collisions beyond the snap
        tolerance, not listed in ``set_aside``). Always
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


# --------------------------------------------------------------------------- time windows


def data_window(
    dates: pd.Series,
    *,
    years: int = 3,
    window: tuple[int, int] | None = None,
    slack_days: int = 7,
) -> tuple[tuple[int, int], tuple[int, int] | None, list[str]]:
    """Return the analysis window, the preceding window (or None) and notes.

    The last year of the data is complete when the latest collision is within ``slack_days`` of
    its 31 December (a small area often has no collision on the last days of a year: the data
    then reach the year end but show no date there); the first year is complete when the earliest
    collision is within ``slack_days`` of its 1 January. ``slack_days=0`` asks for collisions on
    31 December and 1 January themselves.
    """
    dates = pd.to_datetime(dates.dropna())
    if dates.empty and window is not None:
        return (int(window[0]), int(window[1])), None, ["No usable collisions; no previous window"]
    if dates.empty:
        raise InputError("collisions: no dated collisions; cannot choose a time window")
    first, last = dates.min(), dates.max()
    last_gap = (pd.Timestamp(last.year, 12, 31) - last.normalize()).days
    first_gap = (first.normalize() - pd.Timestamp(first.year, 1, 1)).days
    last_complete = last.year if last_gap <= slack_days else last.year - 1
    first_complete = first.year if first_gap <= slack_days else first.year + 1
    notes: list[str] = []
    if 0 < last_gap <= slack_days:
        notes.append(f"{last.year} taken as complete: data reach {last:%d %b %Y}")
    if window is None:
        if last_complete < first_complete:
            raise InputError(
                f"collisions: data run {first:%d %b %Y} to {last:%d %b %Y}, which holds no "
                "complete calendar year; pass years=(first, last) to choose a window"
            )
        y2 = last_complete
        y1 = max(first_complete, y2 - years + 1)
        if y2 - y1 + 1 < years:
            notes.append(
                f"Only {y2 - y1 + 1} complete year(s) in the data; window {y1}-{y2} is shorter "
                f"than the rule's {years} years"
            )
        if last.year > y2:
            notes.append(f"{last.year} left out: data stop {last:%d %b %Y} (year incomplete)")
    else:
        y1, y2 = (int(window[0]), int(window[1]))
        if y2 < y1:
            raise InputError(f"years: first year {y1} is after last year {y2}; give (first, last)")
        if y2 - y1 + 1 != years:
            notes.append(
                f"Window {y1}-{y2} spans {y2 - y1 + 1} years, not the rule's {years}: counts are "
                "not comparable with the rule's thresholds"
            )
        if y1 < first_complete or y2 > last_complete:
            notes.append(
                f"Window {y1}-{y2} is not fully covered by the data ({first:%d %b %Y} to "
                f"{last:%d %b %Y}): counts may be low"
            )
    span = y2 - y1 + 1
    previous = (y1 - span, y1 - 1)
    if previous[0] < first_complete:
        notes.append(
            f"No previous window: data do not reach back over {previous[0]}-{previous[1]}; "
            "previous_total is NA and every site is marked new"
        )
        return (y1, y2), None, notes
    return (y1, y2), previous, notes


# --------------------------------------------------------------------------- radius scan


def _members(tree: cKDTree, centres: np.ndarray, radius_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Return (centre index, point index) pairs with the point within ``radius_m`` of the centre."""
    if len(centres) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    lists = tree.query_ball_point(centres, radius_m + _EPS_M)
    lengths = np.fromiter((len(m) for m in lists), dtype=np.int64, count=len(lists))
    pts = (
        np.concatenate([np.asarray(m, dtype=np.int64) for m in lists])
        if lengths.sum()
        else (np.empty(0, dtype=np.int64))
    )
    return np.repeat(np.arange(len(centres)), lengths), pts


def radius_scan(xy: np.ndarray, ksi: np.ndarray, rule: Rule) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return the radius-mode sites as ``(centre_xy, member_positions)``, best first.

    Parameters
    ----------
    xy
        ``(n, 2)`` collision coordinates, EPSG:27700 metres, in a canonical order (the caller sorts
        them, so that the result does not depend on row order).
    ksi
        Boolean, True for fatal or serious collisions.
    rule
        Cluster rule; ``rule.radius_m`` is the circle radius.

    """
    xy = np.asarray(xy, dtype=float)
    ksi = np.asarray(ksi, dtype=bool)
    radius = float(rule.radius_m)
    if len(xy) < rule.min_collisions:
        return []
    tree = cKDTree(xy)
    places = np.unique(xy, axis=0)
    pairs = cKDTree(places).query_pairs(2 * radius + _EPS_M, output_type="ndarray")
    mids = (places[pairs[:, 0]] + places[pairs[:, 1]]) / 2 if len(pairs) else np.empty((0, 2))
    cands = np.unique(np.vstack([places, mids]), axis=0)
    ci, pi = _members(tree, cands, radius)
    total = np.bincount(ci, minlength=len(cands))
    nksi = np.bincount(ci, weights=ksi[pi], minlength=len(cands))
    good = np.flatnonzero(rule.qualifies(total, nksi))
    if len(good) == 0:
        return []
    # re-centre each qualifying circle on its collisions' centroid, so the site sits on the cluster
    keep = np.isin(ci, good)
    cx = np.bincount(ci[keep], weights=xy[pi[keep], 0], minlength=len(cands))[good] / total[good]
    cy = np.bincount(ci[keep], weights=xy[pi[keep], 1], minlength=len(cands))[good] / total[good]
    cands = np.unique(np.vstack([cands[good], np.column_stack([cx, cy])]), axis=0)
    ci, pi = _members(tree, cands, radius)
    d2 = ((xy[pi] - cands[ci]) ** 2).sum(axis=1)
    total = np.bincount(ci, minlength=len(cands))
    nksi = np.bincount(ci, weights=ksi[pi], minlength=len(cands))
    good = rule.qualifies(total, nksi)
    entry = good[ci]
    ci, pi, d2 = ci[entry], pi[entry], d2[entry]

    return _greedy(cands, good, ci, pi, d2, ksi, rule)


def _greedy(cands, good, ci, pi, d2, ksi, rule) -> list[tuple[np.ndarray, np.ndarray]]:
    """Take the best qualifying circle, drop its collisions and overlapping circles, repeat.

    Lazy greedy: circles are popped smallest key first, the key being ``(-total, -ksi, spread,
    x, y)`` (``spread``: sum of squared distances of the circle's collisions from its centre, so
    the most compact of equally busy circles wins). A key only grows as collisions are taken, so
    a popped key that is still current is the true best.
    """
    order = np.argsort(ci, kind="stable")
    ci, pi, d2 = ci[order], pi[order], d2[order]
    starts = np.searchsorted(ci, np.arange(len(cands) + 1))
    alive_pt = np.ones(len(ksi), dtype=bool)
    alive_cand = good.copy()
    cand_tree = cKDTree(cands)
    radius = float(rule.radius_m)

    clauses = [(c.min_total, c.min_ksi) for c in rule.clauses]

    def key(c: int) -> tuple | None:
        members = pi[starts[c] : starts[c + 1]]
        live = alive_pt[members]
        total, nksi = int(live.sum()), int(ksi[members][live].sum())
        if not any(total >= t and nksi >= k for t, k in clauses):
            return None
        spread = round(float(d2[starts[c] : starts[c + 1]][live].sum()), 6)
        return (-total, -nksi, spread, float(cands[c, 0]), float(cands[c, 1]), c)

    # first keys for all circles at once (a key recomputed later may differ by float rounding
    # of ``spread``; it is then pushed again and accepted on its next pop)
    total = np.diff(starts)
    nksi = np.bincount(ci, weights=ksi[pi], minlength=len(cands)).astype(np.int64)
    spread = np.round(np.bincount(ci, weights=d2, minlength=len(cands)), 6)
    cand_ids = np.flatnonzero(good)
    heap = list(zip(
        (-total[cand_ids]).tolist(), (-nksi[cand_ids]).tolist(), spread[cand_ids].tolist(),
        cands[cand_ids, 0].tolist(), cands[cand_ids, 1].tolist(), cand_ids.tolist(), strict=True,
    ))  # fmt: skip
    heapq.heapify(heap)
    sites = []
    while heap:
        stale = heapq.heappop(heap)
        c = stale[-1]
        if not alive_cand[c]:
            continue
        fresh = key(c)
        if fresh is None:
            alive_cand[c] = False
            continue
        if fresh != stale:
            heapq.heappush(heap, fresh)
            continue
        members = pi[starts[c] : starts[c + 1]]
        members = np.sort(members[alive_pt[members]])
        sites.append((cands[c].copy(), members))
        alive_pt[members] = False
        # circles overlap when their centres are closer than two radii; touching is allowed
        alive_cand[cand_tree.query_ball_point(cands[c], 2 * radius - _EPS_M)] = False
        alive_cand[c] = False
    return sites


# --------------------------------------------------------------------------- names

_NOISE = re.compile(
    r"\b(EXACT|SOME DETAILS|DETAILS|NO GRID|UNSPECIFIED|NOT KNOWN|LOCATION UNKNOWN|IN BUILT UP"
    r"|NO OTHER|GRID REF|NO DIR\w*|DIRECTIONS? NOT|NK)\b.*$|\(.*?\)|\(.*$|\bAPPROX\b"
)
_HOUSE = re.compile(
    r"\b(OS|O/S|OUTSIDE|OPP|OPPOSITE)\s*(HOUSE\s*)?(NO\.?|NUMBER|NUM)?\s*\d+[A-Z]?\b(\s+[A-Z]\b)?"
)
_NUMBER = re.compile(r"\b(NO\.?|NUMBER)\s*\d+[A-Z]?\b|^\d+[A-Z]?\s+")
_DISTANCE = re.compile(
    r"\b(JUST\s+)?\d+(\.\d+)?\s*(M|KM|METRES|METERS|YDS|YARDS|MILES?)\b\s*"
    r"(NORTH|SOUTH|EAST|WEST|NORTH ?EAST|NORTH ?WEST|SOUTH ?EAST|SOUTH ?WEST|N|S|E|W|NE|NW|SE|SW)?"
    r"\s*(OF|FROM)?\b"
)
_JUNCTION = re.compile(
    r"\b(AT\s+)?(JUNCTION|JUNCTN|JUNC|JCT|JNCT|JN|JW|J/W|T-JUNCTION)\b(\s+(WITH|OF)\b)?"
)
_CARRIAGEWAY = re.compile(
    r"\b(NBC|SBC|EBC|WBC|NBD|SBD|EBD|WBD|NB|SB|EB|WB|NORTHBOUND|SOUTHBOUND|EASTBOUND|WESTBOUND"
    r"|LANE \d)\b"
)
_WORDS = {
    "RD": "Road", "AVE": "Avenue", "AV": "Avenue", "LN": "Lane", "RBT": "Roundabout",
    "RDBT": "Roundabout", "RDABT": "Roundabout", "RBOUT": "Roundabout", "R/BOUT": "Roundabout",
    "R/A": "Roundabout", "NR": "near", "NEAR": "near", "O/S": "outside", "OS": "outside",
    "OUTSIDE": "outside", "OPP": "opposite", "OPPOSITE": "opposite", "CL": "Close",
    "CRES": "Crescent", "DR": "Drive", "GDNS": "Gardens", "GRN": "Green", "PK": "Park",
    "PL": "Place", "SQ": "Square", "TCE": "Terrace", "BLVD": "Boulevard", "PWAY": "Parkway",
    "PKWY": "Parkway", "BYP": "Bypass", "GT": "Great", "JUNCTION": "junction", "AT": "at",
    "OF": "of", "WITH": "with", "TO": "to", "AND": "and", "THE": "the", "ON": "on", "BY": "by",
    "FROM": "from", "TWDS": "towards", "TOWARDS": "towards", "OFF": "off", "IN": "in",
}  # fmt: skip
_COMPASS = {"N": "NORTH", "S": "SOUTH", "E": "EAST", "W": "WEST"}
_CONNECTORS = {"junction", "near", "outside", "opposite", "at", "of", "with", "to", "and", "by",
               "from", "towards", "off", "on", "in"}  # fmt: skip
_ROAD_WORDS = {"RD", "ROAD", "ST", "STREET", "WAY", "AVE", "AVENUE", "LANE", "LN", "DRIVE", "DR",
               "PARKWAY", "CLOSE", "CRESCENT", "BOULEVARD", "GATE", "WALK", "BYPASS"}  # fmt: skip
_ROAD_NUMBER = re.compile(r"^(A|B|C|M)\d+[A-Z]?$|^A\(M\)\d*$|^A\d+\(M\)$")


def _towns(locations: pd.Series) -> set[str]:
    """Words that end at least a fifth of all location texts: place names to drop from names."""
    last = locations.dropna().astype(str).str.upper().str.split().str[-1].dropna()
    if len(last) < 5:  # too few texts to tell a town name from a road name
        return set()
    share = last.value_counts(normalize=True)
    return {
        w for w, s in share.items()
        if s >= 0.2 and w.isalpha() and w not in _ROAD_WORDS and w not in _WORDS
    }  # fmt: skip


def site_name(
    location: str | None, *, towns: frozenset[str] | set[str] = frozenset()
) -> str | None:
    """Return a clean, title-cased site name from free location text, or None if nothing is left.

    ``THISTLEMOOR RD OS 65 A JUNCTION BELHAM RD PETERBOROUGH`` (with ``towns={"PETERBOROUGH"}``)
    gives ``Thistlemoor Road junction Belham Road``: house numbers, distances, carriageway codes and
    "exact location unknown" phrases are dropped, abbreviations expanded, road numbers kept.
    """
    if location is None or pd.isna(location):
        return None
    text = " " + re.sub(r"\s+", " ", str(location).upper()) + " "
    text = _NOISE.sub(" ", text)
    text = re.sub(r"\bBY ?PASS\b", "BYPASS", text)
    text = re.sub(r"\b([NSEW]) OF\b", lambda m: f"{_COMPASS[m.group(1)]} OF", text)
    text = _HOUSE.sub(" ", text)
    text = _NUMBER.sub(" ", text.strip())
    text = _DISTANCE.sub(" NEAR ", text)
    text = _JUNCTION.sub(" JUNCTION ", text)
    text = _CARRIAGEWAY.sub(" ", text)
    tokens = [t for t in re.split(r"[\s,;]+|(?<=\w)/(?=\s)|\s/", text) if t]
    kept: list[str] = []
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if tok in towns and (nxt is None or nxt not in _ROAD_WORDS):
            continue
        kept.append(tok)
    if not kept:  # the text is only a place name: keep it
        kept = tokens
    words: list[str] = []
    for i, tok in enumerate(kept):
        nxt = kept[i + 1] if i + 1 < len(kept) else None
        if tok == "ST":
            after = _WORDS.get(nxt, "") if nxt else ""
            words.append("Street" if nxt is None or after in _CONNECTORS else "St")
        elif _ROAD_NUMBER.match(tok):
            words.append(tok)
        elif tok in _WORDS:
            words.append(_WORDS[tok])
        else:
            words.append(tok.capitalize() if tok.isalpha() else tok.title())
    # collapse repeated connectors ("near near", "junction junction") and trim dangling ones
    out: list[str] = []
    for w in words:
        if out and w in _CONNECTORS and out[-1] in _CONNECTORS:
            if out[-1] in {"near", "at"} and w == "junction":
                out[-1] = w
            continue
        out.append(w)
    while out and out[-1] in _CONNECTORS:
        out.pop()
    while out and out[0] in _CONNECTORS - {"junction"}:
        out.pop(0)
    if not out:
        return None
    name = " ".join(out)
    return name[0].upper() + name[1:]


def _place_key(name: str) -> str:
    """Return a key under which ``"A junction B"`` and ``"B junction A"`` are the same place."""
    parts = name.split(" junction ")
    return " junction ".join(sorted(parts)) if len(parts) == 2 else name


def _names(members: list[np.ndarray], frame: pd.DataFrame, towns: set[str]) -> list[str]:
    """Name each site by its collisions' most common clean location, else its road number.

    Two sites with the same best name (two places on one long road) take, where they have one,
    their most common more specific location starting with that name ("Lincoln Road junction
    Alma Road"); otherwise later ones get " (2)", " (3)".
    """
    wanted = np.unique(np.concatenate(members)) if members else np.empty(0, dtype=np.int64)
    texts = frame["location"].iloc[wanted]
    clean = np.full(len(frame), None, dtype=object)
    clean[wanted] = [site_name(t, towns=towns) for t in texts]
    roads = frame["road_number"].to_numpy(dtype=object)
    ranked = []
    for pos in members:
        found = Counter(n for n in clean[pos] if isinstance(n, str))
        if found:
            places: Counter[str] = Counter()
            for n, c in found.items():
                places[_place_key(n)] += c
            keys = sorted(places, key=lambda k: (-places[k], k))
            spelt = [min((n for n in found if _place_key(n) == k), key=lambda n: (-found[n], n))
                     for k in keys]  # fmt: skip
            ranked.append(spelt)
            continue
        numbers = Counter(r for r in roads[pos] if isinstance(r, str) and _ROAD_NUMBER.match(r))
        road = min(numbers, key=lambda r: (-numbers[r], r)) if numbers else "Unclassified road"
        ranked.append([f"{road} (no location text)"])
    names = [r[0] for r in ranked]
    seen = Counter(names)
    used = set(names)
    for i, first in enumerate(names):
        if seen[first] < 2:
            continue
        better = [n for n in ranked[i][1:] if n.startswith(first + " ") and n not in used]
        if better:
            names[i] = better[0]
            used.add(better[0])
    count: Counter[str] = Counter()
    for i, name in enumerate(names):
        count[name] += 1
        if count[name] > 1:
            names[i] = f"{name} ({count[name]})"
    return names


# --------------------------------------------------------------------------- inputs


def _usable(collisions: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Return the collisions that can be placed and dated, and the set-aside rows."""
    if not isinstance(collisions, gpd.GeoDataFrame):
        raise InputError("collisions: expected a GeoDataFrame (use geo_sppa.io.read_collisions)")
    missing = [c for c in ("collision_id", "date", "severity") if c not in collisions.columns]
    if missing:
        raise InputError(
            f"collisions: no column {', '.join(missing)}; expected the normalised columns of "
            "geo_sppa.io.read_collisions (collision_id, date, severity, geometry, ...)"
        )
    if collisions.crs is None or collisions.crs.to_epsg() != 27700:
        raise InputError(
            f"collisions: CRS is {collisions.crs}, expected EPSG:27700 (British National Grid); "
            "reproject with geo_sppa.crs.to_british_national_grid first"
        )
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
            "source": "collisions",
            "row": np.flatnonzero(out) + 1,
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

    def overlapping(self, previous: pd.DataFrame, current: pd.DataFrame) -> np.ndarray:
        if len(current) == 0 or len(previous) == 0:
            return np.zeros(len(previous), dtype=bool)
        tree = cKDTree(current[["x", "y"]].to_numpy())
        hits = tree.query_ball_point(previous[["x", "y"]].to_numpy(), 2 * self.radius - _EPS_M)
        return np.array([len(h) > 0 for h in hits], dtype=bool)


class _Network:
    """Network-mode scan (junctions and 100 m links), via geo_sppa.network."""

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

    def overlapping(self, previous: pd.DataFrame, current: pd.DataFrame) -> np.ndarray:
        if len(current) == 0 or len(previous) == 0:
            return np.zeros(len(previous), dtype=bool)
        same = previous["site_id"].isin(current["site_id"]).to_numpy()
        tree = STRtree(np.asarray(current["geometry"]))
        prev_idx, _ = tree.query(
            np.asarray(previous["geometry"]), predicate="dwithin", distance=1.0
        )
        touched = np.zeros(len(previous), dtype=bool)
        touched[prev_idx] = True
        return same | touched


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
    names = _names(pos, frame, towns)
    names = [
        n if (n and "(no location text)" not in n) or not isinstance(k, str) or not k else k
        for n, k in zip(names, records.get("network_name", [None] * len(names)), strict=True)
    ]
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
        A :class:`~geo_sppa.rules.Rule` or a preset name (``"spp"``).
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
        A replacement value-of-prevention table (see :mod:`geo_sppa.costs`).

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
        Missing columns, wrong CRS, no dated collisions, unknown rule or price year.

    """
    rule = rule_named(rule) if isinstance(rule, str) else rule
    usable, set_aside = _usable(collisions)
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
        n_prev_lost = len(lost) - len(lost_cur)
        set_aside = pd.concat([set_aside, _snap_set_aside(usable, lost_cur, lost)])
        notes.append(f"Network mode: collisions snapped to roads within {snap_tolerance_m:g} m")
    cur_frame = placed[placed.index.isin(usable.index[in_cur])]
    prev_frame = placed[placed.index.isin(usable.index[in_prev])]

    records = engine.scan(cur_frame)
    kw = dict(rule=rule, window=window, costs=costs, towns=_towns(usable["location"]))
    sites = _site_frame(records, list(records["members"]), usable, **kw)
    keep = rule.qualifies(sites["total"].to_numpy(), (sites["fatal"] + sites["serious"]).to_numpy())
    sites, records = sites[keep].reset_index(drop=True), records[keep].reset_index(drop=True)
    resolved = _site_frame(records.iloc[0:0], [], usable, **kw)
    if previous is not None:
        sites = _with_previous(sites, engine.footprint(prev_frame, records), usable, rule)
        old = engine.scan(prev_frame)
        old = old[~engine.overlapping(old, records)].reset_index(drop=True)
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
    from geo_sppa import network as net

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


def _with_previous(
    sites: gpd.GeoDataFrame, members: list[pd.Index], frame: pd.DataFrame, rule: Rule
) -> gpd.GeoDataFrame:
    """Add previous_total and status (persistent when the footprint met the rule then too)."""
    sev = frame["severity"]
    total = np.array([len(m) for m in members], dtype=np.int64)
    ksi = np.array(
        [int(sev.loc[m].isin(["fatal", "serious"]).sum()) for m in members], dtype=np.int64
    )
    out = sites.copy()
    out["previous_total"] = pd.array(total, dtype="Int64")
    out["status"] = np.where(rule.qualifies(total, ksi), "persistent", "new")
    return out


def _snap_set_aside(usable: pd.DataFrame, lost: pd.Index, detail: pd.DataFrame) -> pd.DataFrame:
    """Set-aside rows for current-window collisions the network could not take."""
    return pd.DataFrame(
        {
            "source": "collisions",
            "row": np.asarray(lost, dtype=np.int64) + 1,
            "record_id": usable.loc[lost, "collision_id"].astype(str).to_numpy(),
            "reason": "beyond snap tolerance",
            "detail": detail.loc[lost, "detail"].to_numpy(),
        },
        columns=SET_ASIDE_COLUMNS,
    )
