"""How good is a trained flow? Scores on fresh data that a student can read.

- **Held-out NLL**: the average negative log-likelihood of fresh data points, in nats;
  lower is better. It rewards a density that is high exactly where the data is.
- **Energy distance** between generated samples and fresh data points (a two-sample
  distance: zero only when the two distributions are the same), next to its **floor**,
  the same distance between two fresh data sets of the same size, which is what
  sampling noise alone gives.
- **Precision** (the share of samples within ``radius`` of some data point: few samples
  off the roll) and **coverage** (the share of data points within ``radius`` of some
  sample: no part of the roll left empty).

The data here is a curve without noise, so likelihood and sample quality can
disagree: a flow can sharpen its density on most of the roll (better NLL) while it
gives some parts of the roll too little mass (worse energy distance). Judge both.

:data:`TARGETS` are what every healthy run of the course recipe reaches, on any seed and
any CPU; the printed scores end with whether this model reaches them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch

SampleData = Callable[[int], torch.Tensor]


class Scores(Protocol):
    """What the targets judge: an :class:`Evaluation`, or another scorer's numbers."""

    @property
    def nll(self) -> float: ...
    @property
    def energy_distance(self) -> float: ...
    @property
    def precision(self) -> float: ...
    @property
    def coverage(self) -> float: ...


@dataclass(frozen=True)
class Targets:
    """The scores a well-trained flow reaches: samples on the roll, covering it evenly, and a good likelihood."""

    nll: float = -0.5
    energy_distance: float = 0.015
    precision: float = 0.85
    coverage: float = 0.99

    def __str__(self) -> str:
        return (
            f"NLL <= {self.nll}, energy distance <= {self.energy_distance},"
            f" precision >= {self.precision}, coverage >= {self.coverage}"
        )

    def misses(self, scores: Scores) -> list[str]:
        """The scores that miss these targets, each next to its target, e.g. ``"precision 0.721 < 0.85"``."""
        missed = []
        if scores.nll > self.nll:
            missed.append(f"NLL {scores.nll:.3f} > {self.nll}")
        if scores.energy_distance > self.energy_distance:
            missed.append(f"energy distance {scores.energy_distance:.4f} > {self.energy_distance}")
        if scores.precision < self.precision:
            missed.append(f"precision {scores.precision:.3f} < {self.precision}")
        if scores.coverage < self.coverage:
            missed.append(f"coverage {scores.coverage:.3f} < {self.coverage}")
        return missed


TARGETS = Targets()


@dataclass(frozen=True)
class Evaluation:
    nll: float
    energy_distance: float
    energy_floor: float
    precision: float
    coverage: float
    n_points: int
    radius: float

    def __str__(self) -> str:
        missed = TARGETS.misses(self)
        return "\n".join(
            [
                f"held-out NLL ({self.n_points} fresh points, lower is better): {self.nll:.2f} nats",
                f"energy distance, samples to data (lower is better): {self.energy_distance:.4f}"
                f" (two fresh data sets: {self.energy_floor:.4f})",
                f"precision (samples within {self.radius} of a data point): {self.precision:.2f}",
                f"coverage (data points within {self.radius} of a sample): {self.coverage:.2f}",
                f"the course's targets ({TARGETS}): {'missed, ' + '; '.join(missed) if missed else 'all met'}",
            ]
        )


def energy_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """``2 E|X - Y| - E|X - X'| - E|Y - Y'|`` over all pairs (the V-statistic), in float64."""
    a, b = a.double(), b.double()
    return float(2 * torch.cdist(a, b).mean() - torch.cdist(a, a).mean() - torch.cdist(b, b).mean())


def evaluate(
    model: torch.nn.Module, sample_data: SampleData, n_points: int = 5000, seed: int = 0, radius: float = 0.05
) -> Evaluation:
    """Score ``model`` (with ``log_prob(x)`` and ``inverse(z)``) against ``sample_data(n)``, a fresh CPU batch.

    Everything random is drawn from ``seed``: the same model always gets the same scores,
    and the caller's random state is left as it was.
    """
    weights = next(model.parameters())  # data and noise go to the model's device and dtype
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        data, other_data = sample_data(n_points).double(), sample_data(n_points).double()
        z = torch.randn(n_points, data.shape[1], dtype=torch.float64)
        samples = model.inverse(z.to(weights))[0].cpu().double()
        nll = -float(model.log_prob(data.to(weights)).double().mean())
    to_data = torch.cdist(samples, data)
    return Evaluation(
        nll=nll,
        energy_distance=energy_distance(samples, data),
        energy_floor=energy_distance(other_data, data),
        precision=float((to_data.min(dim=1).values < radius).double().mean()),
        coverage=float((to_data.min(dim=0).values < radius).double().mean()),
        n_points=n_points,
        radius=radius,
    )
