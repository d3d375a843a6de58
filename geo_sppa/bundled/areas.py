"""The bundled study areas (``--area``): which real files each one has.

The catalogue is ``data/catalogue.csv`` in the repository; files live under ``data/`` and
``boundaries/``. The England-wide tables (catalogue area ``england``: IoD2025 and IoD2019 for every
LSOA, the ONS LSOA 2011 -> 2021 and LSOA 2021 -> ward 2024 lookups) belong to every area: an
area's own file of the same IMD edition wins. The repository root is found beside the installed
package (an editable install from a clone) or through the ``GEO_SPPA_HOME`` environment variable.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

from geo_sppa.errors import InputError, MissingFileError

__all__ = [
    "Area",
    "AREAS",
    "DEFAULT_AREA",
    "ENGLAND",
    "bundled_area",
    "bundled_file",
    "catalogue",
    "default_risk_themes",
    "project_root",
]

DEFAULT_AREA = "peterborough"
AREAS = ("peterborough", "leeds-central")
#: Catalogue area of the England-wide tables shared by every area (not an ``--area``).
ENGLAND = "england"
_TITLES = {
    "peterborough": "Peterborough (E06000031)",
    "leeds-central": "Central Leeds (2.5 km circle)",
}


def project_root() -> Path:
    """Return the folder holding ``data/`` and ``boundaries/``.

    Raises
    ------
    MissingFileError
        Neither ``GEO_SPPA_HOME`` nor the folder above the package holds ``data/catalogue.csv``.
    """
    candidates = []
    if os.environ.get("GEO_SPPA_HOME"):
        candidates.append(Path(os.environ["GEO_SPPA_HOME"]))
    candidates.append(Path(__file__).resolve().parents[2])
    for root in candidates:
        if (root / "data" / "catalogue.csv").is_file():
            return root
    raise MissingFileError(
        "bundled data not found (looked for data/catalogue.csv in "
        f"{', '.join(map(str, candidates))}); "
        "install from a clone with `pip install -e .` or set GEO_SPPA_HOME to the clone's folder"
    )


def catalogue() -> list[dict[str, str]]:
    """Return the bundled-data catalogue rows (area, key, path, description, years, source...)."""
    with open(project_root() / "data" / "catalogue.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def bundled_file(area: str, key: str) -> Path | None:
    """Return the path of catalogue entry ``key`` of ``area`` (``risk_matrix_2012``...), or None."""
    for row in catalogue():
        if row["area"] == area and row["key"] == key:
            return project_root() / row["path"]
    return None


def default_risk_themes(area: str) -> Path:
    """Return the area's bundled risk matrix, else the 2012 Peterborough matrix (an example)."""
    path = bundled_file(area, "risk_matrix_2012") or bundled_file(
        "peterborough", "risk_matrix_2012"
    )
    if path is None:  # pragma: no cover - the catalogue ships it
        raise MissingFileError("no bundled risk matrix in data/catalogue.csv; pass --themes PATH")
    return path


@dataclass(frozen=True)
class Area:
    """A bundled study area: absolute paths of its files (None where the area has none).

    Attributes
    ----------
    name, title
        ``--area`` value and a human title.
    collisions, incidents, roads, context_roads, lsoas, lsoa_lookup, population
        Paths to the datasets, or None.
    count_points, study_area
        Paths to the datasets, or None.
    wards
        Ward boundary files by ward set (``"2013"``, ``"2022"``).
    imd
        Deprivation files by IMD edition (``"2010"``, ``"2019"``, ``"2025"``): the area's own, else
        the England-wide file.
    england
        The England-wide tables by catalogue key (``imd_2025``, ``imd_2019``,
        ``lookup_lsoa11_lsoa21``, ``lookup_lsoa21_ward24``).
    default_ward_set, default_imd
        The ward set and IMD edition commands use unless told otherwise.
    """

    name: str
    title: str
    collisions: Path | None = None
    incidents: Path | None = None
    roads: Path | None = None
    context_roads: Path | None = None
    lsoas: Path | None = None
    lsoa_lookup: Path | None = None
    population: Path | None = None
    count_points: Path | None = None
    study_area: Path | None = None
    wards: dict[str, Path] = field(default_factory=dict)
    imd: dict[str, Path] = field(default_factory=dict)
    england: dict[str, Path] = field(default_factory=dict)
    default_ward_set: str | None = None
    default_imd: str | None = None

    def require(self, key: str, *, option: str) -> Path:
        """Return the path for dataset ``key`` or raise saying which option supplies it."""
        value = getattr(self, key)
        if value is None:
            raise InputError(
                f"the bundled area {self.name!r} has no {key.replace('_', ' ')} data; pass "
                f"{option} PATH"
            )
        return value


def bundled_area(name: str = DEFAULT_AREA) -> Area:
    """Return the bundled area called ``name`` with the absolute paths of its files.

    Raises
    ------
    InputError
        Unknown area name (the message lists the known ones).
    """
    if name not in AREAS:
        raise InputError(f"unknown area {name!r}; choose one of: {', '.join(AREAS)}")
    root = project_root()
    wards: dict[str, Path] = {}
    imd: dict[str, Path] = {}
    files: dict[str, Path] = {}
    england = {r["key"]: root / r["path"] for r in catalogue() if r["area"] == ENGLAND}
    for row in catalogue():
        if row["area"] != name:
            continue
        key, path = row["key"], root / row["path"]
        if key.startswith("wards_"):
            wards[key.split("_", 1)[1]] = path
        elif key.startswith("imd_"):
            imd[key.split("_", 1)[1]] = path
        elif key in Area.__dataclass_fields__:
            files[key] = path
    for key, path in england.items():
        if key.startswith("imd_"):
            imd.setdefault(key.split("_", 1)[1], path)
    return Area(
        name=name,
        title=_TITLES[name],
        wards=wards,
        imd=dict(sorted(imd.items())),
        england=england,
        default_ward_set="2013" if "2013" in wards else next(iter(wards), None),
        default_imd="2010" if "2010" in imd else next(iter(imd), None),
        **files,  # keys checked against Area's fields above
    )
