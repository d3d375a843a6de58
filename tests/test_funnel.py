"""Funnel-plot limits against values worked independently from the Spiegelhalter (2005) formulas."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from geo_sppa.wards.funnel import funnel_limits, funnel_table, overdispersion

Z95 = 1.959963984540054  # standard normal 97.5% quantile
Z998 = 3.090232306167813  # standard normal 99.9% quantile


def test_poisson_limits_by_hand():
    """theta0 = 10 per 1,000 at population 1,000: SE = sqrt(10 * 1000 / 1000) = sqrt(10)."""
    limits = funnel_limits([1000], target_rate_per_1000=10.0).iloc[0]
    se = math.sqrt(10)
    assert limits["low_95"] == pytest.approx(10 - Z95 * se)
    assert limits["high_95"] == pytest.approx(10 + Z95 * se)
    assert limits["low_99.8"] == pytest.approx(10 - Z998 * se)
    assert limits["high_99.8"] == pytest.approx(10 + Z998 * se)
    assert limits["high_95"] == pytest.approx(16.198, abs=1e-3)


def test_additive_tau2_widens_limits():
    """With tau^2 = 4: SD = sqrt(10 + 4) at population 1,000."""
    limits = funnel_limits([1000], target_rate_per_1000=10.0, tau2=4.0).iloc[0]
    assert limits["high_95"] == pytest.approx(10 + Z95 * math.sqrt(14))


def test_lower_limit_floored_at_zero():
    limits = funnel_limits([50], target_rate_per_1000=10.0).iloc[0]
    assert 10 - Z95 * math.sqrt(10 * 1000 / 50) < 0
    assert limits["low_95"] == 0.0


def _by_hand(counts, pops):
    """Spiegelhalter (2005) step by step in plain Python (percentiles by linear interpolation)."""
    theta = 1000 * sum(counts) / sum(pops)
    se = [math.sqrt(theta * 1000 / n) for n in pops]
    z = [(1000 * y / n - theta) / s for y, n, s in zip(counts, pops, se, strict=True)]

    def percentile(values, q):
        v = sorted(values)
        pos = (len(v) - 1) * q / 100
        lo = math.floor(pos)
        return v[lo] + (v[min(lo + 1, len(v) - 1)] - v[lo]) * (pos - lo)

    lo, hi = percentile(z, 10), percentile(z, 90)
    zw = [min(max(v, lo), hi) for v in z]
    k = len(z)
    phi = sum(v * v for v in zw) / k
    w = [1 / s**2 for s in se]
    tau2 = (
        (k * phi - (k - 1)) / (sum(w) - sum(x * x for x in w) / sum(w)) if k * phi > k - 1 else 0.0
    )
    return theta, phi, tau2


def test_overdispersion_matches_hand_computation():
    counts = [12, 40, 9, 150, 33, 70, 5, 64, 21, 98, 47, 30]
    pops = [3000, 9000, 2500, 12000, 6000, 8000, 2700, 7000, 5000, 9500, 10000, 6100]
    theta, phi, tau2 = _by_hand(counts, pops)
    od = overdispersion(counts, pops)
    assert od.target_rate_per_1000 == pytest.approx(theta)
    assert od.phi == pytest.approx(phi)
    assert od.tau2 == pytest.approx(tau2)
    assert od.tau2 > 0 and od.phi > 1


def test_no_overdispersion_gives_poisson_limits():
    """Every ward at exactly the overall rate: z = 0, phi = 0, tau^2 = 0."""
    od = overdispersion([10, 20, 30, 40], [1000, 2000, 3000, 4000])
    assert od.phi == 0 and od.tau2 == 0


def test_funnel_table_positions():
    """Ten wards at 10 per 1,000 and one at 60 per 1,000: the last lies above the 99.8% limit."""
    frame = pd.DataFrame(
        {
            "ward_name": [f"w{i}" for i in range(11)],
            "population": [5000] * 11,
            "count": [50] * 10 + [300],
        }
    )
    table, od = funnel_table(frame)
    assert table["funnel"].iloc[-1] == "above 99.8%"
    assert (table["funnel"].iloc[:-1] == "within").all()
    np.testing.assert_allclose(
        table["high_95"],
        od.target_rate_per_1000 + Z95 * np.sqrt(od.target_rate_per_1000 * 1000 / 5000 + od.tau2),
    )
    unadjusted, _ = funnel_table(frame, adjust=False)
    assert (unadjusted["high_95"] <= table["high_95"]).all()
