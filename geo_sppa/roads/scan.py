"""Candidate sites of the two scan modes, and the collisions inside a site's footprint.

A scan turns the collisions of one window into *site records*, one row per candidate site:
``site_id`` (radius mode ``R<easting>N<northing>`` of the centre rounded to 10 m; network mode
the network's ``site_key``), ``site_type`` (network mode ``junction`` / ``link``; radius mode
None, inferred later from the collisions), ``network_name`` (network mode: the network's name),
``x`` and ``y`` (the centre: the circle's centre, the junction's point, or the middle of the link
window's line), ``geometry`` and ``members`` (index labels of the window's collisions). Network
records keep every other column of :func:`geo_sppa.roads.network.network_sites` (``chain_id``,
``start_m``, ``end_m``, ``junction_id`` and, when the network gives them, ``route_id`` and
``route_m``), so :meth:`NetworkScan.footprints` can count another window's collisions there.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from typing import Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from geo_sppa.crs import BNG
from geo_sppa.roads.network import (
    RoadNetwork,
    members_of_sites,
    network_sites,
    road_network,
    snapped_collisions,
)
from geo_sppa.roads.radius import EPS_M, radius_scan
from geo_sppa.roads.rules import Rule

__all__ = ["NetworkPlacement", "NetworkScan", "RadiusScan", "SiteScan", "network_placement"]


class SiteScan(Protocol):
    """What the cluster pipeline needs from a scan mode."""

    @property
    def mode(self) -> str:
        """``"radius"`` or ``"network"``."""
        ...

    @property
    def rule(self) -> Rule:
        """The rule the scan applies."""
        ...

    def records(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return the site records of the collisions in ``frame`` (see the module docstring)."""
        ...

    def footprints(self, frame: pd.DataFrame, records: pd.DataFrame) -> list[pd.Index]:
        """Return, per record, the labels of ``frame``'s collisions inside its footprint."""
        ...


@dataclass(frozen=True)
class RadiusScan:
    """Radius mode: greedy circles of ``rule.radius_m`` (see :func:`radius_scan`)."""

    rule: Rule

    @property
    def mode(self) -> str:
        """Return ``"radius"``."""
        return "radius"

    def records(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return one record per qualifying circle of the collisions in ``frame``."""
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
                "geometry": shapely.points(np.column_stack([x, y])) if len(x) else [],
                "members": [frame.index[m] for _, m in found],
            }
        )

    def footprints(self, frame: pd.DataFrame, records: pd.DataFrame) -> list[pd.Index]:
        """Return, per circle, the collisions of ``frame`` within its radius (edge inside)."""
        if len(records) == 0:
            return []
        if len(frame) == 0:
            return [frame.index[:0] for _ in range(len(records))]
        tree = cKDTree(frame[["_x", "_y"]].to_numpy())
        hits = tree.query_ball_point(records[["x", "y"]].to_numpy(), self.rule.radius_m + EPS_M)
        return [frame.index[np.sort(np.asarray(h, dtype=np.int64))] for h in hits]


@dataclass(frozen=True)
class NetworkScan:
    """Network mode: junctions and ``rule.length_m`` windows on a :class:`RoadNetwork`."""

    rule: Rule
    network: RoadNetwork

    @property
    def mode(self) -> str:
        """Return ``"network"``."""
        return "network"

    def records(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return one record per qualifying junction or link site of snapped ``frame``."""
        raw = network_sites(gpd.GeoDataFrame(frame), self.network, self.rule)
        geoms = np.asarray(raw.geometry.to_numpy(), dtype=object)
        lines = np.isin(shapely.get_type_id(geoms), [1, 5])  # LineString, MultiLineString
        centres = shapely.point_on_surface(geoms)
        if lines.any():
            centres[lines] = shapely.line_interpolate_point(geoms[lines], 0.5, normalized=True)
        out = pd.DataFrame(raw.drop(columns=["members", "geometry"])).reset_index(drop=True)
        out["site_id"] = raw["site_key"].astype(str).to_numpy()
        out["network_name"] = raw["name"].to_numpy() if "name" in raw.columns else None
        out["x"] = shapely.get_x(centres) if len(geoms) else np.empty(0)
        out["y"] = shapely.get_y(centres) if len(geoms) else np.empty(0)
        out["geometry"] = geoms
        out["members"] = pd.Series(
            _label_indexes(list(raw["members"])), index=out.index, dtype=object
        )
        return out

    def footprints(self, frame: pd.DataFrame, records: pd.DataFrame) -> list[pd.Index]:
        """Return, per site, the snapped collisions of ``frame`` at its junction or window."""
        if len(records) == 0:
            return []
        raw = gpd.GeoDataFrame(records.drop(columns=["members"]), geometry="geometry", crs=BNG)
        return _label_indexes(list(members_of_sites(gpd.GeoDataFrame(frame), raw)))


def _label_indexes(lists: list[list]) -> list[pd.Index]:
    """Return ``[pd.Index(m) for m in lists]``; integer labels sliced from one index, faster."""
    flat = pd.Index(list(chain.from_iterable(lists)))
    if flat.dtype != np.int64:
        return [pd.Index(m) for m in lists]
    bounds = np.cumsum([0, *(len(m) for m in lists)]).tolist()
    return [
        flat[a:b] if b > a else pd.Index([]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]


@dataclass(frozen=True)
class NetworkPlacement:
    """Collisions placed on a road network for a network-mode scan.

    Attributes
    ----------
    scan
        The scan over the built network.
    snapped
        The collisions that snapped (labels of the input), with the network's columns.
    lost
        The collisions beyond the snap tolerance: ``collision_id`` and ``detail``.

    """

    scan: NetworkScan
    snapped: gpd.GeoDataFrame
    lost: pd.DataFrame


def network_placement(
    wanted: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame,
    rule: Rule,
    *,
    tolerance_m: float,
    junction_merge_m: float,
) -> NetworkPlacement:
    """Return the network built from ``roads`` and ``wanted`` snapped to it.

    Parameters
    ----------
    wanted
        Usable collisions of the windows to scan.
    roads
        Road lines (:func:`geo_sppa.io.read_roads`).
    rule
        The rule (its ``junction_radius_m`` decides junction membership).
    tolerance_m
        Collisions farther than this from every road are lost, metres.
    junction_merge_m
        Road nodes closer than this form one junction, metres.

    Returns
    -------
    NetworkPlacement
        The scan, the snapped rows and the lost rows.

    """
    graph = road_network(roads, junction_merge_m=junction_merge_m)
    snapped = snapped_collisions(
        wanted, graph, tolerance_m=tolerance_m, junction_radius_m=rule.junction_radius_m
    )
    lost = pd.DataFrame(
        wanted.loc[wanted.index.difference(snapped.snapped.index), ["collision_id"]]
    )
    detail: dict[str, str] = {}
    reported = snapped.set_aside
    if len(reported) and {"record_id", "detail"} <= set(reported.columns):
        detail = dict(
            zip(reported["record_id"].astype(str), reported["detail"].astype(str), strict=True)
        )
    lost["detail"] = [detail.get(str(i), "") for i in lost["collision_id"]]
    return NetworkPlacement(NetworkScan(rule, graph), snapped.snapped, lost)
