"""The grader's own affine coupling layer, and the usual ways to get it wrong.

Everything is computed in float64 from the case's weights, never from the
submission's objects. The mistakes are here so feedback can name the one a
wrong answer matches; each is a function of the same ``x, mask, s, t``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from autograder.cases import Case, seed_mask

Tensor = torch.Tensor


def _linear(state: dict[str, Tensor], key: str, inputs: Tensor) -> Tensor:
    return inputs @ state[f"{key}.weight"].T + state[f"{key}.bias"]


def scale_and_shift(state: dict[str, Tensor], prefix: str, x_masked: Tensor) -> tuple[Tensor, Tensor]:
    """``s = tanh(.)`` and ``t`` from the seed's ScaleTranslateNet weights."""
    hidden = torch.relu(_linear(state, f"{prefix}net.0", x_masked))
    hidden = torch.relu(_linear(state, f"{prefix}net.2", hidden))
    s, t = _linear(state, f"{prefix}net.4", hidden).chunk(2, dim=1)
    return torch.tanh(s), t


def coupling_forward(x: Tensor, mask: Tensor, state: dict[str, Tensor], prefix: str = "") -> tuple[Tensor, Tensor]:
    s, t = scale_and_shift(state, prefix, x * mask)
    return x * mask + (1 - mask) * (x * torch.exp(s) + t), ((1 - mask) * s).sum(dim=1)


def coupling_inverse(y: Tensor, mask: Tensor, state: dict[str, Tensor], prefix: str = "") -> tuple[Tensor, Tensor]:
    s, t = scale_and_shift(state, prefix, y * mask)
    return y * mask + (1 - mask) * ((y - t) * torch.exp(-s)), -((1 - mask) * s).sum(dim=1)


def float64_state(case: Case) -> dict[str, Tensor]:
    """The case's weights as the submission saw them (in its dtype), then widened exactly."""
    return {key: torch.from_numpy(value.astype(np.float64)) for key, value in case.state.items()}


def layer_masks(case: Case) -> list[tuple[str, Tensor]]:
    """``(state prefix, mask)`` for each coupling layer of the case, in order."""
    if case.kind == "layer":
        return [("", torch.tensor(case.mask, dtype=torch.float64))]
    return [
        (f"coupling_layers.{i}.st_net.", torch.tensor(seed_mask(case.dim, i % 2), dtype=torch.float64))
        for i in range(case.num_layers)
    ]


def forward(case: Case, x: Tensor, state: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
    """The reference forward of the whole case (one layer or the stack)."""
    total = torch.zeros(x.shape[0], dtype=x.dtype)
    for prefix, mask in layer_masks(case):
        x, log_det = coupling_forward(x, mask.to(x.dtype), state, prefix)
        total = total + log_det
    return x, total


def inverse(case: Case, y: Tensor, state: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
    total = torch.zeros(y.shape[0], dtype=y.dtype)
    for prefix, mask in reversed(layer_masks(case)):
        y, log_det = coupling_inverse(y, mask.to(y.dtype), state, prefix)
        total = total + log_det
    return y, total


def jacobian_log_det(case: Case, x: Tensor, state: dict[str, Tensor]) -> Tensor:
    """Per-sample ``log|det dy/dx|`` of the reference forward, by autograd and slogdet."""

    def one_sample(row: Tensor) -> Tensor:
        return forward(case, row.unsqueeze(0), state)[0].squeeze(0)

    jacobians = torch.stack([torch.autograd.functional.jacobian(one_sample, row) for row in x])
    return torch.linalg.slogdet(jacobians).logabsdet


# Each wrong ``y`` as the formula a student would have written, with the hint it earns.
YMistake = Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]
Y_MISTAKES: dict[str, tuple[str, YMistake]] = {
    "exp_minus_s": (
        "the scale was applied as exp(-s); the forward pass multiplies by exp(s)",
        lambda x, m, s, t: x * m + (1 - m) * (x * torch.exp(-s) + t),
    ),
    "shift_then_scale": (
        "you shifted before scaling: the notebook's inverse undoes x·exp(s) + t, so scale first, then add t",
        lambda x, m, s, t: x * m + (1 - m) * ((x + t) * torch.exp(s)),
    ),
    "kept_half_changed": (
        "the kept half of y changed: where mask is 1, y must equal x exactly",
        lambda x, m, s, t: x * torch.exp(s) + t,
    ),
    "mask_inverted": (
        "the mask is used the wrong way round: mask 1 marks the coordinates that pass through unchanged",
        lambda x, m, s, t: x * (1 - m) + m * (x * torch.exp(s) + t),
    ),
    "scaled_masked_input": (
        "the transformed half scales x_masked, which is zero there: scale x itself",
        lambda x, m, s, t: x * m + (1 - m) * (x * m * torch.exp(s) + t),
    ),
    "no_shift": (
        "the translation t was not added",
        lambda x, m, s, t: x * m + (1 - m) * (x * torch.exp(s)),
    ),
    "no_scale": (
        "the scale exp(s) was not applied",
        lambda x, m, s, t: x * m + (1 - m) * (x + t),
    ),
    "scale_not_exponentiated": (
        "s is a log-scale: multiply by exp(s), not by s",
        lambda x, m, s, t: x * m + (1 - m) * (x * s + t),
    ),
    "identity": (
        "y equals x: the transformation was not applied",
        lambda x, m, s, t: x,
    ),
}

LogDetMistake = Callable[[Tensor, Tensor], Tensor]
LOG_DET_MISTAKES: dict[str, tuple[str, LogDetMistake]] = {
    "opposite_sign": (
        "log_det_J has the opposite sign: the forward pass scales by exp(s), so log|det J| = +sum of s",
        lambda m, s: -((1 - m) * s).sum(dim=1),
    ),
    "kept_coordinates": (
        "log_det_J sums s over the kept coordinates (mask 1); only the transformed ones (1 - mask) scale",
        lambda m, s: (m * s).sum(dim=1),
    ),
    "all_coordinates": (
        "log_det_J sums s over every coordinate; only the transformed ones (1 - mask) contribute",
        lambda m, s: s.sum(dim=1),
    ),
    "exp_of_s": (
        "log_det_J is the sum of s itself (a log-scale), not of exp(s)",
        lambda m, s: ((1 - m) * torch.exp(s)).sum(dim=1),
    ),
    "mean_not_sum": (
        "log_det_J averages s; the log-determinant is the sum over the transformed coordinates",
        lambda m, s: ((1 - m) * s).mean(dim=1),
    ),
    "zero": (
        "log_det_J is zero, but the layer scales the transformed coordinates by exp(s)",
        lambda m, s: torch.zeros(s.shape[0], dtype=s.dtype),
    ),
}
