"""Site names from collision location text and road numbers.

Police location text (``THISTEMOOR RD OS 65 A JUNCTION BELHAM RD PETERBOROUGH``) is cleaned into a
name an engineer recognises (``Thistlemoor Road junction Belham Road``): the town suffix, house
numbers, distances and noise are dropped, abbreviations expanded and road numbers kept.

Sites with no location text (DfT STATS19 files have none) are named from the road numbers the
collisions record: ``A1139 junction A1260`` (junction sites: the most common first and second road
pair), ``A1139 nr A1260`` (link sites whose collisions name a second road), else the road and the
site's grid reference rounded to 10 m (``A1139 at E517890 N301230``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["site_name", "site_names", "town_words"]

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


def town_words(locations: pd.Series) -> set[str]:
    """Words that end at least a fifth of all location texts: place names to drop from names."""
    last = locations.dropna().astype(str).str.upper().str.split().str[-1].dropna()
    if len(last) < 5:  # too few texts to tell a town name from a road name
        return set()
    share = last.value_counts(normalize=True)
    return {
        w for w, s in zip(share.index.astype(str), share.to_numpy(), strict=True)
        if s >= 0.2 and w.isalpha() and w not in _ROAD_WORDS and w not in _WORDS
    }  # fmt: skip


def site_name(
    location: str | None,
    *,
    towns: frozenset[str] | set[str] = frozenset(),
    truncated: bool = False,
) -> str | None:
    """Return a clean, title-cased site name from free location text, or None if nothing is left.

    ``THISTLEMOOR RD OS 65 A JUNCTION BELHAM RD PETERBOROUGH`` (with ``towns={"PETERBOROUGH"}``)
    gives ``Thistlemoor Road junction Belham Road``: house numbers, distances, carriageway codes and
    "exact location unknown" phrases are dropped, abbreviations expanded, road numbers kept.
    ``truncated``: the text was cut at the source's field width, so a last word that begins a
    town name (``PETERBORO``) is dropped, and so is a junction with a single word after it that
    is no road number or road type (``... 50 METRES SOUTH OF JUNCTION WITH BELLE`` names the
    road before it only).
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
    if truncated:
        kept = _untruncated(kept, towns)
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


def _untruncated(tokens: list[str], towns: frozenset[str] | set[str]) -> list[str]:
    """Drop a cut-off last word: the start of a town name, or a lone word after JUNCTION."""
    out = list(tokens)
    if len(out) > 1 and any(t != out[-1] and t.startswith(out[-1]) for t in towns):
        out.pop()
    if len(out) > 2 and out[-2] == "JUNCTION":
        last = out[-1]
        if not _ROAD_NUMBER.match(last) and last not in _ROAD_WORDS and last not in _WORDS:
            del out[-2:]
    return out


def _truncated_at(texts: pd.Series) -> int | None:
    """Return the source's field width when texts pile up at their longest length, else None.

    A field cut at, say, 60 characters holds many texts of exactly 60 and far fewer of 59. A
    text one shorter than the width is taken as cut too (cut at a space, then stripped).
    """
    lengths = texts.dropna().astype(str).str.len()
    if lengths.empty:
        return None
    width = int(lengths.max())
    at, below = int((lengths == width).sum()), int((lengths == width - 1).sum())
    return width if at >= 5 and at >= 2 * below else None


def _road_name(
    pos: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    junction: bool,
    centre: tuple[float, float],
) -> tuple[str, str]:
    """Return a name from road numbers, and the grid-reference form used to tell duplicates."""
    pairs: Counter[tuple[str, str]] = Counter()
    for a, b in zip(first[pos], second[pos], strict=True):
        if _is_number(a) and _is_number(b) and a != b:
            pairs[(a, b)] += 1
    numbers = Counter(r for r in first[pos] if _is_number(r))
    road = min(numbers, key=lambda r: (-numbers[r], r)) if numbers else "Unclassified road"
    grid = f"{road} at E{round(centre[0], -1):.0f} N{round(centre[1], -1):.0f}"
    if junction and pairs:
        places: Counter[tuple[str, ...]] = Counter()
        for pair, c in pairs.items():
            places[tuple(sorted(pair))] += c
        key = min(places, key=lambda k: (-places[k], k))
        a, b = min((p for p in pairs if tuple(sorted(p)) == key), key=lambda p: (-pairs[p], p))
        return f"{a} junction {b}", grid
    near = Counter(b for a, b in zip(first[pos], second[pos], strict=True)
                   if _is_number(b) and b != road and (a == road or not numbers))  # fmt: skip
    if not junction and numbers and near:
        return f"{road} nr {min(near, key=lambda r: (-near[r], r))}", grid
    return grid, grid


def _is_number(value: object) -> bool:
    return isinstance(value, str) and bool(_ROAD_NUMBER.match(value))


def _clean_texts(members: list[np.ndarray], frame: pd.DataFrame, towns: set[str]) -> np.ndarray:
    """Return, per row of ``frame``, the clean name of its location text (None: no text/site)."""
    wanted = np.unique(np.concatenate(members)) if members else np.empty(0, dtype=np.int64)
    width = _truncated_at(frame["location"])
    texts = frame["location"].iloc[wanted]
    clean = np.full(len(frame), None, dtype=object)
    cut_at = np.inf if width is None else width - 1
    clean[wanted] = [
        site_name(t, towns=towns, truncated=not pd.isna(t) and len(str(t)) >= cut_at) for t in texts
    ]
    return clean


def _spelt_names(clean: np.ndarray) -> list[str]:
    """Return a site's candidate names, most common place first, each in its commonest spelling.

    ``"A junction B"`` and ``"B junction A"`` count as one place.
    """
    found = Counter(n for n in clean if isinstance(n, str))
    places: Counter[str] = Counter()
    for n, c in found.items():
        places[_place_key(n)] += c
    keys = sorted(places, key=lambda k: (-places[k], k))
    return [
        min((n for n in found if _place_key(n) == k), key=lambda n: (-found[n], n)) for k in keys
    ]


def _place_key(name: str) -> str:
    """Return a key under which ``"A junction B"`` and ``"B junction A"`` are the same place."""
    parts = name.split(" junction ")
    return " junction ".join(sorted(parts)) if len(parts) == 2 else name


def site_names(
    members: list[np.ndarray],
    frame: pd.DataFrame,
    towns: set[str],
    *,
    junction: list[bool] | None = None,
    centres: np.ndarray | None = None,
    fallback: Sequence[object] | None = None,
    route_id: Sequence[object] | None = None,
    route_m: Sequence[float] | np.ndarray | None = None,
) -> list[str]:
    """Return each site's name: its collisions' most common clean location, else road numbers.

    Parameters
    ----------
    members
        Per site, positions in ``frame`` of its collisions.
    frame
        Collisions with ``location``, ``road_number`` and optionally ``road_number_2``.
    towns
        Place names to drop from location texts (see :func:`town_words`).
    junction
        Per site, True for a junction site (names ``A1139 junction A1260``); default all False.
    centres
        ``(n, 2)`` site centres, EPSG:27700 metres, for ``A1139 at E517890 N301230`` names;
        default the mean of each site's collisions.
    fallback
        Per site, a name to use when no collision has location text (e.g. the road network's).
    route_id, route_m
        Per site, the route it lies on and its centre's position along it, metres (NaN for
        junction sites); used to number repeated names in order along the road.

    Returns
    -------
    list of str
        One name per site, unique.

    Two sites with the same best name (two places on one long road) take, where they have one,
    their most common more specific location starting with that name ("Lincoln Road junction
    Alma Road"); otherwise the second, third... get " (2)", " (3)". Repeated names are taken in
    order along the road: by ``route_m`` when all sites of that name have one on the same route,
    else by easting, then northing, of their centres. Two sites named from the same road numbers
    take their grid-reference names instead.
    """
    clean = _clean_texts(members, frame, towns)
    first = frame["road_number"].astype(object).to_numpy(dtype=object)
    if "road_number_2" in frame.columns:
        second = frame["road_number_2"].astype(object).to_numpy(dtype=object)
    else:
        second = np.full(len(frame), None, dtype=object)
    if centres is None:
        geom = frame.geometry
        xy = np.column_stack([geom.x.to_numpy(), geom.y.to_numpy()])
        centres = np.array([xy[p].mean(axis=0) if len(p) else (np.nan, np.nan) for p in members])
    junction = junction if junction is not None else [False] * len(members)
    fallback = fallback if fallback is not None else [None] * len(members)
    ranked: list[list[str]] = []
    grids: dict[int, str] = {}
    for i, pos in enumerate(members):
        spelt = _spelt_names(clean[pos])
        own = fallback[i]
        if spelt:
            ranked.append(spelt)
        elif isinstance(own, str) and own:
            ranked.append([own])
        else:
            name, grids[i] = _road_name(pos, first, second, bool(junction[i]), tuple(centres[i]))
            ranked.append([name])
    names = [r[0] for r in ranked]
    return _distinct(names, ranked, grids, _AlongRoad(centres, route_id, route_m))


def _known(value: object) -> bool:
    """Return True for a present, non-empty route id."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return False
    return str(value) != ""


class _AlongRoad:
    """Orders sites of one name along their road: by route measure, else by easting, northing."""

    def __init__(
        self,
        centres: np.ndarray,
        route_id: Sequence[object] | None,
        route_m: Sequence[float] | np.ndarray | None,
    ):
        self.xy = np.asarray(centres, dtype=float).reshape(-1, 2)
        n = len(self.xy)
        self.route_id = list(route_id) if route_id is not None else [None] * n
        self.route_m = (
            np.asarray(route_m, dtype=float) if route_m is not None else np.full(n, np.nan)
        )

    def order(self, names: list[str]) -> list[int]:
        """Return site positions, each name's sites consecutive and in order along the road."""
        groups: dict[str, list[int]] = {}
        for i, name in enumerate(names):
            groups.setdefault(name, []).append(i)
        out: list[int] = []
        for members in groups.values():
            known = [
                i for i in members if _known(self.route_id[i]) and np.isfinite(self.route_m[i])
            ]
            on_route = (
                len(known) == len(members) and len({str(self.route_id[i]) for i in known}) == 1
            )
            measure = self.route_m if on_route else np.zeros(len(self.xy))
            out += sorted(members, key=lambda i: (measure[i], self.xy[i, 0], self.xy[i, 1], i))
        return out


def _distinct(
    names: list[str], ranked: list[list[str]], grids: dict[int, str], along: _AlongRoad
) -> list[str]:
    """Return ``names`` made unique: grid references, more specific names, then (2), (3)..."""
    seen = Counter(names)
    for i, grid in grids.items():
        if seen[names[i]] > 1:
            names[i] = grid
    seen = Counter(names)
    used = set(names)
    for i in along.order(names):
        best = names[i]
        if seen[best] < 2:
            continue
        better = [n for n in ranked[i][1:] if n.startswith(best + " ") and n not in used]
        if better:
            names[i] = better[0]
            used.add(better[0])
    count: Counter[str] = Counter()
    for i in along.order(names):
        count[names[i]] += 1
        if count[names[i]] > 1:
            names[i] = f"{names[i]} ({count[names[i]]})"
    return names
