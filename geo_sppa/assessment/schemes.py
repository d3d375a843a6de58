"""The strategic assessment's "Effect of schemes" step: the evaluation ``geo-sppa evaluate`` runs.

When a treated-sites file is given, :func:`scheme_inputs` reads it (and the ``clusters.csv`` its
``site_id`` values name) before the slow analyses, so a bad file fails fast, and
:func:`scheme_assessment` runs :func:`geo_sppa.evaluation.schemes.scheme_evaluation` on the
report's own collisions and roads with the evaluate command's defaults, so the report's theta
cannot drift from the command's. The result, :class:`SchemeAssessment`, also counts the treated
rows read, used and set aside for the report's set-aside section.

Example::

    from geo_sppa.assessment.pipeline import strategic_assessment

    a = strategic_assessment("leeds-central", treated="treated.csv", sites="clusters.csv")
    a.schemes.result.effect.overall.theta
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from geo_sppa.errors import InputError
from geo_sppa.io import Loaded

if TYPE_CHECKING:
    from geo_sppa.bundled.inputs import ClusterInputs
    from geo_sppa.evaluation.schemes import SchemeEvaluation

__all__ = ["SchemeAssessment", "SchemeInputs", "scheme_assessment", "scheme_inputs"]

#: The report's set-aside input name of the treated rows.
TREATED_INPUT = "treated sites"


@dataclass(frozen=True)
class SchemeInputs:
    """The treated-sites file read, with the cluster sites it names.

    Attributes
    ----------
    treated
        :func:`geo_sppa.io.treated.read_treated` result.
    path, sites_path
        The treated file and the ``clusters.csv`` (None: sites placed by coordinates).
    footprints
        The clusters.csv ``footprint`` per ``site_id`` (None without ``sites_path``).
    """

    treated: Loaded
    path: Path
    sites_path: Path | None
    footprints: pd.Series | None


@dataclass(frozen=True)
class SchemeAssessment:
    """The evaluation of the treated sites, as the report shows it.

    Attributes
    ----------
    result
        :class:`geo_sppa.evaluation.schemes.SchemeEvaluation`.
    inputs
        The :class:`SchemeInputs` it was run on.
    """

    result: SchemeEvaluation
    inputs: SchemeInputs

    @property
    def set_aside(self) -> pd.DataFrame:
        """Every treated row not evaluated: repeated sites (reader), then the evaluation's."""
        parts = [self.inputs.treated.set_aside, self.result.set_aside]
        return pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)

    @property
    def source(self) -> str:
        """One line naming the treated file, the sites file and the SPF."""
        sites = f" (sites {self.inputs.sites_path.name})" if self.inputs.sites_path else ""
        return f"{self.inputs.path.name}{sites}; {self.result.spf_note}"

    def count_rows(self) -> list[tuple[str, str, int, int, pd.DataFrame]]:
        """Return the set-aside section's row: ``(input, file, read, used, set aside)``."""
        read = self.inputs.treated.n_read
        return [(TREATED_INPUT, self.inputs.path.name, read, len(self.result.sites),
                 self.set_aside)]  # fmt: skip

    def summary_lines(self) -> list[tuple[str, str]]:
        """Return the run-summary lines: treated rows read, used and set aside; the effect."""
        from geo_sppa.render.evaluation_page import effect_words

        n = self.count_rows()[0]
        return [
            ("treated sites", f"{n[1]}: {n[2]:,} read, {n[3]:,} used, {len(n[4]):,} set aside"),
            ("effect of schemes", effect_words(self.result.effect.overall)),
        ]


def scheme_inputs(
    treated: str | Path | None, sites: str | Path | None = None
) -> SchemeInputs | None:
    """Read the treated file (and ``sites``), as ``geo-sppa evaluate`` does; None without one.

    Raises
    ------
    InputError
        An unreadable or malformed file (the same one-line message as ``geo-sppa evaluate``), or
        ``sites`` without ``treated``.
    """
    from geo_sppa.io.treated import read_sites, read_treated

    if treated is None:
        if sites is not None:
            raise InputError(
                f"{Path(sites).name}: --sites gives the sites a treated file names, but no "
                "treated file was given; pass --treated FILE too, or leave out --sites"
            )
        return None
    table = read_sites(sites) if sites else None
    return SchemeInputs(
        treated=read_treated(treated, sites=table),
        path=Path(treated),
        sites_path=Path(sites) if sites else None,
        footprints=None if table is None else table.set_index("site_id")["footprint"],
    )


def scheme_assessment(
    inputs: ClusterInputs, schemes: SchemeInputs | None
) -> SchemeAssessment | None:
    """Return the EB before/after evaluation of ``schemes`` on ``inputs`` (None without them).

    The collisions and roads are the report's (``inputs``); every other setting is the
    ``geo-sppa evaluate`` default (SPP rule, 3 before years, 1 year minimum after period).

    Raises
    ------
    InputError
        No treated site can be evaluated (as ``geo-sppa evaluate`` says it).
    """
    from geo_sppa.evaluation.schemes import scheme_evaluation

    if schemes is None:
        return None
    result = scheme_evaluation(
        inputs.collisions.data,
        schemes.treated.data,
        roads=inputs.roads,
        source=schemes.path.name,
        footprints=schemes.footprints,
    )
    return SchemeAssessment(result=result, inputs=schemes)
