import numpy as np
import pytest
import torch

from autograder import reference
from autograder.cases import make_cases
from autograder.checks import TOLERANCES

CASES = make_cases(11)
LAYERS = [case for case in CASES if case.kind == "layer"]


def _inputs(case):
    return torch.from_numpy(case.x.astype(np.float64)), reference.float64_state(case)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_log_det_is_the_log_abs_det_of_the_autograd_jacobian(case):
    x, state = _inputs(case)
    _, log_det = reference.forward(case, x, state)
    torch.testing.assert_close(log_det, reference.jacobian_log_det(case, x, state), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_inverse_undoes_forward_and_log_dets_cancel(case):
    x, state = _inputs(case)
    y, log_det = reference.forward(case, x, state)
    back, inverse_log_det = reference.inverse(case, y, state)
    torch.testing.assert_close(back, x, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(log_det + inverse_log_det, torch.zeros_like(log_det), rtol=0, atol=1e-12)


def test_the_scales_are_far_from_zero_and_from_saturation():
    for case in LAYERS:
        x, state = _inputs(case)
        s, _ = reference.scale_and_shift(state, "", x * torch.tensor(case.mask))
        assert 0.05 < s.abs().mean() < 0.95, case.name


MISTAKES = [("y", name) for name in sorted(reference.Y_MISTAKES)] + [
    ("log_det_J", name) for name in sorted(reference.LOG_DET_MISTAKES)
]


@pytest.mark.parametrize(("output", "name"), MISTAKES)
def test_every_mistake_is_far_outside_the_tolerance_on_every_case(output, name):
    margin = 100 * TOLERANCES["float32"][0]
    for case in LAYERS:
        x, state = _inputs(case)
        mask = torch.tensor(case.mask, dtype=torch.float64)
        s, t = reference.scale_and_shift(state, "", x * mask)
        y, log_det = reference.coupling_forward(x, mask, state)
        if output == "y":
            gap = (reference.Y_MISTAKES[name][1](x, mask, s, t) - y).abs().max()
        else:
            gap = (reference.LOG_DET_MISTAKES[name][1](mask, s) - log_det).abs().max()
        assert gap > margin, f"{name} is within {gap:.2e} of the answer on {case.name}"
