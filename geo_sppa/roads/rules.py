"""Cluster-site rules: which counts of injury and fatal/serious collisions make a site.

A rule is an OR of clauses; a clause asks for at least ``min_total`` injury collisions and at
least ``min_ksi`` fatal-or-serious ones, within one site, in ``years`` years. Presets hold
published rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geo_sppa.errors import InputError

__all__ = [
    "MAX_LENGTH_M",
    "MAX_RADIUS_M",
    "RULES",
    "Clause",
    "Rule",
    "require_cluster_rule",
    "rule_named",
]

#: Largest radius-mode circle and network-mode link window, metres: a cluster site is a place an
#: engineer can treat, and the scans' memory grows with the square of the radius.
MAX_RADIUS_M = 500.0
MAX_LENGTH_M = 1000.0


@dataclass(frozen=True)
class Clause:
    """One OR-clause of a rule.

    Attributes
    ----------
    min_total
        Minimum injury collisions (all severities) at the site.
    min_ksi
        Minimum fatal-or-serious (killed or seriously injured) collisions at the site.
    """

    min_total: int = 0
    min_ksi: int = 0

    @property
    def label(self) -> str:
        """Plain text for the clause, e.g. ``"5+ injury collisions incl. 1+ fatal/serious"``."""
        parts = []
        if self.min_total and self.min_total > self.min_ksi:
            parts.append(f"{self.min_total}+ injury collisions")
        if self.min_ksi:
            ksi = f"{self.min_ksi}+ fatal/serious"
            parts.append(f"incl. {ksi}" if parts else ksi)
        return " ".join(parts) if parts else "any collision"


@dataclass(frozen=True)
class Rule:
    """A cluster-site rule: OR-clauses plus the site geometry and time window they apply to.

    Attributes
    ----------
    name
        Preset name, e.g. ``"spp"``.
    clauses
        A site qualifies when any clause is met.
    length_m
        Length of a link window in network mode, metres.
    radius_m
        Radius of a site circle in radius mode, metres (50 m radius = 100 m across).
    junction_radius_m
        Collisions within this distance of a junction's nodes belong to the junction, metres.
    years
        Length of the time window, years.
    description
        Where the rule comes from.
    """

    name: str
    clauses: tuple[Clause, ...]
    length_m: float = 100.0
    radius_m: float = 50.0
    junction_radius_m: float = 20.0
    years: int = 3
    description: str = ""

    def criteria(self, total: np.ndarray, ksi: np.ndarray) -> np.ndarray:
        """Return, per site, the label of the first clause met, or ``""`` where none is.

        Parameters
        ----------
        total, ksi
            Integer arrays of injury and fatal-or-serious collision counts, one entry per site.
        """
        total = np.asarray(total)
        ksi = np.asarray(ksi)
        out = np.full(total.shape, "", dtype=object)
        for clause in reversed(self.clauses):
            met = (total >= clause.min_total) & (ksi >= clause.min_ksi)
            out[met] = clause.label
        return out

    def qualifies(self, total: np.ndarray, ksi: np.ndarray) -> np.ndarray:
        """Return a boolean array, True where a site with these counts meets any clause."""
        total = np.asarray(total)
        ksi = np.asarray(ksi)
        met = np.zeros(total.shape, dtype=bool)
        for clause in self.clauses:
            met |= (total >= clause.min_total) & (ksi >= clause.min_ksi)
        return met

    @property
    def min_collisions(self) -> int:
        """The fewest collisions any clause can be met with (a lower bound used to prune scans)."""
        return min(max(c.min_total, c.min_ksi, 1) for c in self.clauses)

    def summary(self, mode: str | None = None) -> str:
        """One line: the rule's name, clauses, window and the site geometry of ``mode``.

        ``mode`` is ``"network"`` (junctions and lengths of road), ``"radius"`` (circles) or
        None (both, as when the mode is not yet known).
        """
        clauses = "; or ".join(c.label for c in self.clauses)
        network = (
            f"per junction (radius {self.junction_radius_m:g} m) or {self.length_m:g} m of road"
        )
        radius = f"per {self.radius_m:g} m-radius circle"
        where = {
            "network": network,
            "radius": radius,
            None: f"{network} (radius mode: {self.radius_m:g} m circles)",
        }
        if mode not in where:
            raise InputError(f"summary mode {mode!r}: expected 'network', 'radius' or None")
        return f"{self.name}: {clauses}, in {self.years} years, {where[mode]}"

    def with_options(
        self,
        *,
        name: str | None = None,
        clauses: tuple[Clause, ...] | None = None,
        length_m: float | None = None,
        radius_m: float | None = None,
        junction_radius_m: float | None = None,
        years: int | None = None,
        description: str | None = None,
    ) -> Rule:
        """Return a copy with the given fields changed (None keeps one), e.g. ``length_m=200``."""
        return Rule(
            name=self.name if name is None else name,
            clauses=self.clauses if clauses is None else tuple(clauses),
            length_m=self.length_m if length_m is None else float(length_m),
            radius_m=self.radius_m if radius_m is None else float(radius_m),
            junction_radius_m=(
                self.junction_radius_m if junction_radius_m is None else float(junction_radius_m)
            ),
            years=self.years if years is None else int(years),
            description=self.description if description is None else description,
        )


RULES: dict[str, Rule] = {
    "spp": Rule(
        name="spp",
        clauses=(Clause(min_total=6), Clause(min_ksi=3), Clause(min_total=5, min_ksi=1)),
        description=(
            "Safer Peterborough Partnership: a junction or 100 m of road with, in 3 years, "
            "6+ injury collisions, or 3+ fatal/serious, or 5+ injury collisions of which 1+ "
            "fatal/serious"
        ),
    ),
    "wales-trunk": Rule(
        name="wales-trunk",
        clauses=(Clause(min_total=4),),
        radius_m=50.0,
        length_m=100.0,
        description=(
            "Welsh Government trunk roads: 4+ injury collisions within a 50 m radius in 3 years"
        ),
    ),
}


def rule_named(name: str) -> Rule:
    """Return the preset rule called ``name``.

    Raises
    ------
    InputError
        No preset has that name (the message lists those that exist).
    """
    try:
        return RULES[name]
    except KeyError:
        known = ", ".join(sorted(RULES))
        raise InputError(f"no cluster rule named {name!r}; choose one of: {known}") from None


def require_cluster_rule(rule: Rule) -> None:
    """Refuse a rule whose sites are not cluster sites (and whose scans would exhaust memory).

    Raises
    ------
    InputError
        A radius over :data:`MAX_RADIUS_M`, a link length over :data:`MAX_LENGTH_M`, or a clause
        that a single collision meets.
    """
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
