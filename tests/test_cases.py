import numpy as np
import torch

from autograder import reference
from autograder.cases import DTYPES, encode_cases, make_cases
from autograder.checks import TOLERANCES
from autograder.wire import decode


def test_cases_cover_both_parities_odd_dims_small_and_large_batches_and_both_dtypes():
    layers = [case for case in make_cases(7) if case.kind == "layer"]
    assert {case.dim for case in layers} >= {2, 3, 5}
    for dim in {case.dim for case in layers}:
        masks = {case.mask for case in layers if case.dim == dim}
        assert len(masks) == 2, "both mask parities"
        assert all(0 < sum(mask) < dim for mask in masks), "each layer keeps some and transforms some"
    assert {case.batch for case in layers} >= {1} and any(case.batch > case.dim for case in layers)
    assert {case.dtype for case in layers} == set(DTYPES)
    assert {case.kind for case in make_cases(7)} == {"layer", "stack"}


def test_weights_are_random_and_nowhere_zero():
    for case in make_cases(3):
        for key, value in case.state.items():
            assert value.dtype == np.dtype(case.dtype)
            assert np.all(value != 0), f"{case.name} {key} has a zero weight"


def test_each_seed_draws_fresh_inputs_and_the_same_seed_repeats():
    first, second, again = make_cases(1), make_cases(2), make_cases(1)
    assert not np.array_equal(first[0].x, second[0].x)
    assert np.array_equal(first[0].x, again[0].x)


def test_cases_cross_the_wire_unchanged():
    cases = make_cases(5)
    arrays, meta = decode(encode_cases(cases))
    assert [entry["name"] for entry in meta["cases"]] == [case.name for case in cases]
    for case in cases:
        assert np.array_equal(arrays[f"{case.name}/x"], case.x)
        for key, value in case.state.items():
            assert np.array_equal(arrays[f"{case.name}/state/{key}"], value)


def test_float32_stack_round_trips_stay_far_inside_the_tolerance():
    """A correct float32 stack must never lose round_trip to rounding: use under a quarter of the tolerance."""
    rtol, atol = TOLERANCES["float32"]
    for seed in range(60):
        for case in (case for case in make_cases(seed) if case.kind == "stack" and case.dtype == "float32"):
            state = {key: torch.from_numpy(value) for key, value in case.state.items()}
            x = torch.from_numpy(case.x)
            y, log_det = reference.forward(case, x, state)
            back, inverse_log_det = reference.inverse(case, y, state)
            allowed = atol * max(1.0, float(x.abs().max())) + rtol * x.abs()
            assert ((back - x).abs() / allowed).max() < 0.25, (seed, case.name)
            assert (log_det + inverse_log_det).abs().max() < 0.25 * atol, (seed, case.name)
