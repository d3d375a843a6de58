"""Influence diagnostics of the count models: leverage, studentized residuals, Cook's distance."""

from __future__ import annotations

import numpy as np

__all__ = ["expected_information_influence"]


def expected_information_influence(
    count: np.ndarray, x: np.ndarray, mean: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return leverage, studentized Pearson residual and Cook's distance of a log-link count GLM.

    The textbook GLM diagnostics from the expected-information hat matrix
    ``H = W^1/2 X (X' W X)^-1 X' W^1/2`` with ``W`` the working weights at the fit
    (``mu^2 / V(mu) = mu / (1 + alpha mu)``, ``V(mu) = mu + alpha mu^2``; ``alpha = 0`` is
    Poisson): ``h_i = H_ii``, ``r_i = (y_i - mu_i) / sqrt(V(mu_i))`` studentized as
    ``r_i / sqrt(1 - h_i)``, and ``D_i = r_i^2 h_i / (p (1 - h_i)^2)`` with ``p`` parameters.
    statsmodels' default (``get_influence(observed=True)``) uses the observed information instead,
    which for the NB family weights residuals by the data and reached D > 1 where this is about 0.6.

    Parameters
    ----------
    count
        Observed counts.
    x
        Design matrix (``n`` by ``p``, constant included).
    mean
        Fitted means.
    alpha
        NB2 dispersion (0 for Poisson).

    Returns
    -------
    tuple of numpy.ndarray
        ``(leverage, studentized_residual, cooks_distance)``.

    """
    y = np.asarray(count, dtype=float)
    design = np.asarray(x, dtype=float)
    mu = np.asarray(mean, dtype=float)
    variance = mu + alpha * mu**2
    root_w = np.sqrt(mu**2 / variance)
    wx = design * root_w[:, None]
    leverage = np.einsum("ij,ji->i", wx, np.linalg.solve(wx.T @ wx, wx.T))
    pearson = (y - mu) / np.sqrt(variance)
    studentized = pearson / np.sqrt(1 - leverage)
    cooks = pearson**2 * leverage / (design.shape[1] * (1 - leverage) ** 2)
    return leverage, studentized, cooks
