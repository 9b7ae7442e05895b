"""An independent second opinion on a trained flow, for the training benchmark.

``course.evaluation`` scores a model against sampled data with torch. This module
scores it another way, so that a mistake in either shows up as a disagreement:

- against the **exact curve**, not a sample of it: precision is the share of samples
  within ``radius`` of the Swiss roll itself, coverage the share of the roll (weighted as
  the data is, uniformly in the angle) within ``radius`` of some sample;
- the **energy distance** in NumPy, to data drawn by NumPy's own generator;
- the **NLL** with the log-determinant from autograd's Jacobian of the whole flow,
  not from the sum of the coupling layers' ``s`` that the model reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

# The seed's generator: angle uniform in [1.5 pi, 4.5 pi], point (t cos t, t sin t) / 15.
ANGLE_RANGE = (1.5 * math.pi, 4.5 * math.pi)
SCALE = 15.0


@dataclass(frozen=True)
class CurveScores:
    nll: float
    energy_distance: float
    precision: float
    coverage: float


def roll_points(angles: np.ndarray) -> np.ndarray:
    return np.stack([angles * np.cos(angles), angles * np.sin(angles)], axis=1) / SCALE


def nearest_distances(points: np.ndarray, to: np.ndarray, chunk: int = 500) -> np.ndarray:
    """For each row of ``points``, its distance to the nearest row of ``to``."""
    nearest = [
        np.sqrt(((block[:, None, :] - to[None, :, :]) ** 2).sum(-1).min(axis=1))
        for block in np.array_split(points, max(1, len(points) // chunk))
    ]
    return np.concatenate(nearest)


def mean_distance(a: np.ndarray, b: np.ndarray, chunk: int = 500) -> float:
    total = sum(
        np.sqrt(((block[:, None, :] - b[None, :, :]) ** 2).sum(-1)).sum()
        for block in np.array_split(a, max(1, len(a) // chunk))
    )
    return float(total / (len(a) * len(b)))


def energy_distance(a: np.ndarray, b: np.ndarray) -> float:
    return 2 * mean_distance(a, b) - mean_distance(a, a) - mean_distance(b, b)


def jacobian_nll(model: torch.nn.Module, x: torch.Tensor) -> float:
    """Mean -log p(x) with log|det J| of x -> z computed by autograd, one 2x2 Jacobian per point."""
    x = x.to(next(model.parameters()))

    def to_latent(point: torch.Tensor) -> torch.Tensor:
        return model(point.unsqueeze(0))[0].squeeze(0)

    z = model(x)[0].detach()
    jacobians = torch.func.vmap(torch.func.jacrev(to_latent))(x).detach()
    log_det = torch.linalg.slogdet(jacobians.double()).logabsdet
    log_pz = -0.5 * (z.double() ** 2 + math.log(2 * math.pi)).sum(dim=1)
    return -float((log_pz + log_det).mean())


def score(model: torch.nn.Module, n_points: int = 5000, seed: int = 1234, radius: float = 0.05) -> CurveScores:
    """Score ``model`` (with ``forward(x) -> (z, log_det)`` and ``inverse(z)``) against the exact Swiss roll."""
    rng = np.random.default_rng(seed)
    data = roll_points(rng.uniform(*ANGLE_RANGE, size=n_points))
    curve = roll_points(np.linspace(*ANGLE_RANGE, 8_001))  # under 0.001 apart along the roll
    z = torch.from_numpy(rng.standard_normal((n_points, 2)))
    weights = next(model.parameters())
    with torch.no_grad():
        samples = model.inverse(z.to(weights))[0].cpu().double().numpy()
    return CurveScores(
        nll=jacobian_nll(model, torch.from_numpy(data)),
        energy_distance=energy_distance(samples, data),
        precision=float((nearest_distances(samples, curve) < radius).mean()),
        coverage=float((nearest_distances(curve, samples) < radius).mean()),
    )
