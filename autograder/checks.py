"""Verdicts for the three graded parts, from observed numbers and the reference.

The one implementation of the checks: the grader calls a :class:`Judge` on what
the sandbox observed, and the source notebook's hidden tests call
:func:`check_part`, which observes in the kernel and judges the same way.
"""

from __future__ import annotations

import contextlib
import io
import secrets
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from autograder import reference, wire
from autograder.cases import Case, encode_cases, make_cases
from autograder.probe import observe

PARTS = ("forward_y", "log_det_J", "round_trip")

# (rtol, atol) per dtype. The submission and the reference differ only in the
# order of floating-point operations. In float64 that costs at most a few
# hundred ulps (~1e-13 relative) through three small linear layers and an exp,
# so 1e-9 leaves four orders of margin. In float32 the submission computes in
# single precision (eps 6e-8): a few hundred ulps is ~1e-5 relative, so 2e-4
# leaves an order of margin. Every mistake in reference.py moves the result by
# more than 1e-2 on the grader's cases (tests/test_checks.py checks this), far
# above both. atol is scaled by the largest expected magnitude.
TOLERANCES = {"float64": (1e-9, 1e-10), "float32": (2e-4, 2e-5)}


@dataclass(frozen=True)
class Verdict:
    part: str
    passed: bool
    hint: str = ""
    student_error: str = ""
    mistake: str = ""  # the hint without its case, with the kind of error raised: alike for every student

    @property
    def message(self) -> str:
        if self.passed:
            return f"{self.part}: passed"
        text = f"{self.part}: {self.hint}"
        return f"{text}\nYour code raised: {self.student_error}" if self.student_error else text


class _Failed(Exception):
    def __init__(self, hint: str, student_error: str = "") -> None:
        super().__init__(hint)
        self.hint = hint
        self.student_error = student_error


def close(actual: np.ndarray, expected: np.ndarray, dtype: str) -> bool:
    """Same shape, finite, and equal within the dtype's tolerance."""
    rtol, atol = TOLERANCES[dtype]
    if actual.shape != expected.shape or not np.all(np.isfinite(actual)):
        return False
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    return bool(np.allclose(actual, expected, rtol=rtol, atol=atol * scale))


class _Expected:
    """The reference's answers for one case, computed once, on demand."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self.state = reference.float64_state(case)
        self.x = torch.from_numpy(case.x.astype(np.float64))

    @cached_property
    def forward(self) -> dict[str, np.ndarray]:
        x = self.x.clone().requires_grad_(True)
        params = [self.state[key].clone().requires_grad_(True) for key in self.case.state]
        state = dict(zip(self.case.state, params, strict=True))
        y, log_det = reference.forward(self.case, x, state)
        cotangent = torch.from_numpy(self.case.cotangent.astype(np.float64))
        grad_y = torch.autograd.grad((y * cotangent).sum(), [x, *params], retain_graph=True)
        grad_log_det = torch.autograd.grad(log_det.sum(), params)
        flat = lambda grads: torch.cat([g.reshape(-1) for g in grads]).numpy()  # noqa: E731
        return {
            "y": y.detach().numpy(),
            "log_det_J": log_det.detach().numpy(),
            "grad_y_x": grad_y[0].numpy(),
            "grad_y_params": flat(grad_y[1:]),
            "grad_log_det_J_params": flat(grad_log_det),
        }

    @cached_property
    def jacobian_log_det(self) -> np.ndarray:
        return reference.jacobian_log_det(self.case, self.x, self.state).numpy()

    @cached_property
    def inverse(self) -> np.ndarray:
        return reference.inverse(self.case, self.x, self.state)[0].numpy()

    @cached_property
    def scale_and_shift(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``mask, s, t`` of a single-layer case, for naming mistakes."""
        mask = reference.layer_masks(self.case)[0][1]
        s, t = reference.scale_and_shift(self.state, "", self.x * mask)
        return mask, s, t


# How each probe step reads in a hint.
STEP_WORDS = {
    "forward": "forward(x)",
    "y": "reading y as numbers",
    "log_det_J": "reading log_det_J as numbers",
    "grad_y": "backpropagating through y",
    "grad_log_det_J": "backpropagating through log_det_J",
    "inverse_of_forward": "inverse(forward(x))",
    "forward_of_inverse": "forward(inverse(x))",
}


class _Observed:
    """The submission's numbers for one case; failures name the student's error."""

    def __init__(self, case: Case, arrays: Mapping[str, np.ndarray], errors: Mapping[str, str]) -> None:
        self.case = case
        self.arrays = arrays
        self.errors = errors

    def get(self, quantity: str, *steps: str) -> np.ndarray:
        """The array for ``quantity``, or a failure naming the first step that raised."""
        name = self.case.name
        if f"{name}/build" in self.errors:
            raise _Failed(
                "your CouplingLayer or RealNVP could not be built and loaded with the notebook's weights",
                self.errors[f"{name}/build"],
            )
        for step in (*steps, quantity):
            if f"{name}/{step}" in self.errors:
                raise _Failed(f"{STEP_WORDS.get(step, step)} failed", self.errors[f"{name}/{step}"])
        if f"{name}/{quantity}" not in self.arrays:
            raise _Failed(f"{quantity} was not computed")
        return self.arrays[f"{name}/{quantity}"]


def _mistake_hint(expected: _Expected, y: np.ndarray) -> str:
    mask, s, t = expected.scale_and_shift
    x = expected.x
    for hint, formula in reference.Y_MISTAKES.values():
        if close(y, formula(x, mask, s, t).numpy(), expected.case.dtype):
            return hint
    return ""


def _check_forward_y(case: Case, expected: _Expected, observed: _Observed, notes: Mapping[str, str]) -> None:
    if case.kind != "layer":
        return
    y = observed.get("y", "forward")
    if y.shape != case.x.shape:
        raise _Failed(f"y has shape {tuple(y.shape)}; it must have the input's shape {tuple(case.x.shape)}")
    y_dtype = notes.get(f"{case.name}/y_dtype", case.dtype)
    if y_dtype != case.dtype:
        raise _Failed(f"y is {y_dtype} for a {case.dtype} input: keep the input's dtype")
    kept = np.asarray(case.mask) == 1
    if not close(y, expected.forward["y"], case.dtype):
        hint = _mistake_hint(expected, y)
        if not hint and not np.array_equal(y[:, kept], case.x[:, kept].astype(np.float64)):
            hint = "the kept half of y changed: where mask is 1, y must equal x exactly"
        raise _Failed(hint or "y differs from x·mask + (1 - mask)·(x·exp(s) + t)")
    if not np.array_equal(y[:, kept], case.x[:, kept].astype(np.float64)):
        raise _Failed("the kept half of y is not exactly x: pass those coordinates through untouched")
    no_gradient = "y does not carry gradients: compute it from x with torch operations (no .detach(), .item() or NumPy)"
    try:
        grad_x = observed.get("grad_y_x", "grad_y")
    except _Failed as failure:
        raise _Failed(no_gradient, failure.student_error) from None
    if not close(grad_x, expected.forward["grad_y_x"], case.dtype):
        raise _Failed(no_gradient)
    if not close(observed.get("grad_y_params", "grad_y"), expected.forward["grad_y_params"], case.dtype):
        raise _Failed("gradients of y do not reach st_net's parameters: compute s and t with self.st_net")


def _check_log_det(case: Case, expected: _Expected, observed: _Observed, notes: Mapping[str, str]) -> None:
    if case.kind != "layer":
        return
    log_det = observed.get("log_det_J", "forward")
    batch = case.batch
    if log_det.shape != (batch,):
        if log_det.ndim == 0:
            raise _Failed(f"log_det_J is one number for the whole batch; it must have shape ({batch},), one per sample")
        raise _Failed(f"log_det_J is not one number per sample: shape {tuple(log_det.shape)}, expected ({batch},)")
    if not close(log_det, expected.jacobian_log_det, case.dtype) or not close(
        log_det, expected.forward["log_det_J"], case.dtype
    ):
        mask, s, _ = expected.scale_and_shift
        for hint, formula in reference.LOG_DET_MISTAKES.values():
            if close(log_det, formula(mask, s).numpy(), case.dtype):
                raise _Failed(hint)
        raise _Failed(
            "log_det_J is not log|det| of the layer's Jacobian, the sum of s over the transformed coordinates"
        )
    try:
        grads = observed.get("grad_log_det_J_params", "grad_log_det_J")
    except _Failed as failure:
        raise _Failed(
            "log_det_J does not carry gradients: compute it from s with torch", failure.student_error
        ) from None
    if not close(grads, expected.forward["grad_log_det_J_params"], case.dtype):
        raise _Failed("gradients of log_det_J do not reach st_net's parameters: compute it from s without detaching")


def _check_round_trip(case: Case, expected: _Expected, observed: _Observed, notes: Mapping[str, str]) -> None:
    flow = "the layer" if case.kind == "layer" else "RealNVP"
    zeros = np.zeros(case.batch)
    for label, words in (("inverse_of_forward", "inverse(forward(x))"), ("forward_of_inverse", "forward(inverse(x))")):
        result = observed.get(label)
        if not close(result, case.x.astype(np.float64), case.dtype):
            why = ""
            if case.kind == "layer" and f"{case.name}/y" in observed.arrays:
                why = _mistake_hint(expected, observed.arrays[f"{case.name}/y"])
            raise _Failed(
                f"{words} does not give back x for {flow}: "
                + (why or "the notebook's inverse undoes y = x·exp(s) + t on the transformed coordinates")
            )
        if not close(observed.get(f"{label}_log_det_sum"), zeros, case.dtype):
            raise _Failed(
                f"the log-determinants of forward and inverse do not cancel for {flow}: "
                "forward must return +sum(s) where the inverse returns -sum(s)"
            )
    if not close(observed.get("inverse", "forward_of_inverse"), expected.inverse, case.dtype):
        raise _Failed(f"the inverse of {flow} no longer undoes x·exp(s) + t: restore the notebook's inverse")


_CHECKS: dict[str, Callable[[Case, _Expected, _Observed, Mapping[str, str]], None]] = {
    "forward_y": _check_forward_y,
    "log_det_J": _check_log_det,
    "round_trip": _check_round_trip,
}


def _mistake(failure: _Failed) -> str:
    error_type = failure.student_error.split(":", 1)[0].split(" (", 1)[0]
    return f"{failure.hint} ({error_type})" if error_type.isidentifier() else failure.hint


class Judge:
    """Verdicts for one set of cases; the reference's answers are computed once and reused."""

    def __init__(self, cases: list[Case]) -> None:
        self.cases = cases
        self._expected = {case.name: _Expected(case) for case in cases}

    def __call__(
        self, arrays: Mapping[str, np.ndarray], meta: Mapping, parts: tuple[str, ...] = PARTS
    ) -> dict[str, Verdict]:
        """One verdict per part: passed only if every case passes every check of that part."""
        errors, notes = meta.get("errors", {}), meta.get("notes", {})
        verdicts = {}
        for part in parts:
            verdicts[part] = Verdict(part, True)
            for case in self.cases:
                try:
                    _CHECKS[part](case, self._expected[case.name], _Observed(case, arrays, errors), notes)
                except _Failed as failure:
                    hint = f"{failure.hint} (on {case.describe()})"
                    verdicts[part] = Verdict(part, False, hint, failure.student_error, _mistake(failure))
                    break
        return verdicts


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """nbgrader scores any stderr in a test cell as zero: keep warnings and prints out of it."""
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        warnings.simplefilter("ignore")
        yield


def check_part(part: str, namespace: Mapping) -> None:
    """Observe the notebook's classes in this process and judge ``part``; raise with the hint if it fails."""
    cases = make_cases(secrets.randbits(32))
    with _quiet():
        arrays, meta = observe(namespace, *wire.decode(encode_cases(cases)))
        verdict = Judge(cases)(arrays, meta, parts=(part,))[part]
    if not verdict.passed:
        raise AssertionError(verdict.message)
