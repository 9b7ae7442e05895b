"""How the RealNVP is trained: the seed's settings, and the course's default, chosen for a picture students can trust.

A :class:`Recipe` holds everything about a training run except the model's code: the
notebook's ``train_realnvp(recipe)`` reads it, the model's size included. The course
staff compared the two recipes side by side, on the same seeds and on two CPU float
paths, before choosing the default (``benchmarks/training_recipe.py`` in the course's
repository prints the table).

Why the course recipe differs from the seed's:

- **Noise on the training batches, annealed.** The Swiss roll is a curve with no
  thickness, so its likelihood has no maximum: a flow trained on the bare curve keeps
  sharpening its density on some stretches of the roll and starves others, and which
  stretches depends on the seed and on the CPU's rounding. Gaussian noise on each batch
  gives the roll a thickness. Large at first (0.1: a blurred roll, whose overall shape
  every run finds), it shrinks geometrically to 0.01 over the first 60% of the steps, so
  the flow learns where the roll is before it learns how thin it is.
- **Ten narrower coupling layers** (width 64 instead of 128, ten instead of six). Each
  layer's scale is capped by ``tanh`` at a factor ``e``, so squeezing a Gaussian onto a
  thin roll needs layers more than width (eight layers, or width 32, left some seeds off
  the roll); a width-64 layer costs about two thirds of a width-128 one on a CPU.
- **Batches of 256, 2,500 steps**: a steadier gradient, at a small cost per step on a CPU;
  the length is what fits the notebook in half the seed recipe's training time.
- **Start from the identity, warm up, decay along a cosine, clip the gradient**: every
  run starts from the base Gaussian and ends with small steps, and no single steep
  batch undoes the run.
- **A lean loop**: fused Adam, one CPU thread (a network this small loses more than it
  gains by splitting each product between threads).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Recipe:
    """Training settings. The defaults are the seed homework's: its model, constant Adam at 1e-3, 10,000 steps."""

    n_steps: int = 10_000
    batch_size: int = 128
    lr: float = 1e-3
    hidden_dim: int = 128  # width of each scale-translation network
    num_coupling_layers: int = 6
    identity_init: bool = False  # zero each coupling's last layer, so the flow starts as the identity
    warmup_steps: int = 0  # linear warm-up of the learning rate from zero
    cosine_decay: bool = False  # then decay it to zero along a cosine
    max_grad_norm: float | None = None  # clip the gradient norm (None: no clipping)
    noise_start: float = 0.0  # standard deviation of the Gaussian noise added to the first training batch
    noise_end: float = 0.0  # ... and to the batches once the annealing is over
    noise_anneal: float = 0.0  # the share of the steps over which the noise shrinks geometrically
    fused_adam: bool = False  # one fused kernel per Adam step instead of one per parameter
    cpu_threads: int | None = None  # torch threads while training on a CPU (None: torch's default)

    def __post_init__(self) -> None:
        if self.n_steps < 1 or self.batch_size < 1:
            raise ValueError(f"n_steps and batch_size must be positive, got {self.n_steps} and {self.batch_size}")
        if not 0 <= self.warmup_steps <= self.n_steps:
            raise ValueError(f"warmup_steps must be between 0 and n_steps ({self.n_steps}), got {self.warmup_steps}")
        if self.noise_start < 0 or self.noise_end < 0:
            raise ValueError(f"noise_start and noise_end must be >= 0, got {self.noise_start} and {self.noise_end}")
        if not 0 <= self.noise_anneal <= 1:
            raise ValueError(f"noise_anneal must be a share of the steps, from 0 to 1, got {self.noise_anneal}")

    def lr_factor(self, step: int) -> float:
        """The learning rate at ``step`` (counted from 0) as a fraction of ``lr``, for ``LambdaLR``."""
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        if not self.cosine_decay:
            return 1.0
        progress = (step - self.warmup_steps) / max(1, self.n_steps - self.warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    def noise_at(self, step: int) -> float:
        """The noise's standard deviation at ``step``: ``noise_start`` shrinking geometrically to ``noise_end``."""
        anneal_steps = self.noise_anneal * self.n_steps
        if step >= anneal_steps or self.noise_start == self.noise_end:
            return self.noise_end
        progress = step / anneal_steps
        if self.noise_start == 0 or self.noise_end == 0:  # no geometric path through zero: a straight line
            return self.noise_start + (self.noise_end - self.noise_start) * progress
        return self.noise_start * (self.noise_end / self.noise_start) ** progress

    def with_steps(self, n_steps: int) -> Recipe:
        """The same recipe over ``n_steps``; a warm-up longer than a tenth of the run is shortened to that."""
        return dataclasses.replace(self, n_steps=n_steps, warmup_steps=min(self.warmup_steps, n_steps // 10))


SEED_RECIPE = Recipe()

# Why each setting: see the module's docstring. Measured against the seed's run on a 2-core CPU in
# the course's README (benchmarks/training_recipe.py).
COURSE_RECIPE = Recipe(
    n_steps=2_500,
    batch_size=256,
    lr=3e-3,
    hidden_dim=64,
    num_coupling_layers=10,
    identity_init=True,
    warmup_steps=200,
    cosine_decay=True,
    max_grad_norm=1.0,
    noise_start=0.1,
    noise_end=0.01,
    noise_anneal=0.6,
    fused_adam=True,
    cpu_threads=1,
)


@contextlib.contextmanager
def cpu_threads(count: int | None) -> Iterator[None]:
    """Run the block with ``count`` torch threads (``None``: leave the setting alone), then restore it."""
    if count is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
