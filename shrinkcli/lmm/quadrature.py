"""Adaptive Gauss–Hermite quadrature of a scalar random effect's integral (glmer's nAGQ > 1).

For one cluster with f(u) = −2 log p(y | u) + u² (`glmm.py`), its mode û and curvature
H = ½ f''(û), the integral ∫ p(y | u) φ(u) du = (2π)^(−½) ∫ exp(−½ f(u)) du is taken on the nodes
of the Gauss–Hermite rule for the standard normal density (zₖ, wₖ, Σ wₖ = 1: the probabilists'
Hermite polynomials, as lme4's `GHrule`), centred at the mode and scaled by the conditional
standard deviation σ = H^(−½) (Liu & Pierce 1994, "A note on Gauss–Hermite quadrature",
Biometrika 81; Pinheiro & Bates 1995):

    ∫ exp(−½ f(u)) du = σ ∫ exp(−½ f(û + σz)) dz ≈ σ Σₖ wₖ exp(−½ f(û + σzₖ)) / φ(zₖ),

so that −2 log of the cluster's likelihood is

    f(û) + log H − 2 log Σₖ wₖ exp(−½ (f(û + σzₖ) − f(û)) − log φ(zₖ) − ½ log 2π),

which for one node (z = 0, w = 1) is the Laplace term f(û) + log H exactly.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial.hermite_e import hermegauss

#: glmer's limit on the nodes of the adaptive rule.
MAX_NODES = 25


def gauss_hermite(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the n-point Gauss–Hermite rule for the standard normal density
    (weights sum to 1), as lme4's `GHrule(n)`."""
    z, w = hermegauss(n_nodes)
    return z, w / math.sqrt(2.0 * math.pi)


def adaptive_correction(
    f_mode: np.ndarray, f_nodes: np.ndarray, z: np.ndarray, w: np.ndarray
) -> np.ndarray:
    """Per cluster, −2 log Σₖ wₖ exp(−½ (f(û + σzₖ) − f(û)) + ½ zₖ²): what the adaptive rule
    adds to the Laplace term f(û) + log H (0 for one node). `f_nodes` is (nodes, clusters)."""
    # −log φ(z) − ½ log 2π = ½ z²
    terms = -0.5 * (f_nodes - f_mode[None, :]) + 0.5 * (z * z)[:, None]
    top = np.max(terms, axis=0)
    sums = np.sum(w[:, None] * np.exp(terms - top[None, :]), axis=0)
    return np.asarray(-2.0 * (top + np.log(sums)))
