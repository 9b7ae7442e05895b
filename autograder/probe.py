"""Run a submission's classes on the grader's cases and record what comes back.

This is the only grading code that runs next to the student's code: in the
sandbox for the grader, in the kernel for nbgrader's hidden tests. It judges
nothing and holds no reference; it turns whatever the student's
``CouplingLayer`` and ``RealNVP`` return into float64 arrays, and the errors
they raise into one-line messages. The verdicts are made elsewhere
(``checks.py``), from these numbers alone. It imports only numpy and torch,
so it can be copied into the sandbox on its own.
"""

from __future__ import annotations

import functools
import os
import traceback
from collections.abc import Callable, Mapping

import numpy as np

MAX_ERROR_CHARS = 400


class ProbeError(Exception):
    """A value the student's code returned that cannot be read as numbers."""


def is_out_of_memory(error: BaseException) -> bool:
    """Python's MemoryError, or torch's allocator failing under the memory limit."""
    return isinstance(error, MemoryError) or (isinstance(error, RuntimeError) and "can't allocate memory" in str(error))


def describe_error(error: BaseException) -> str:
    """``Type: message`` plus the innermost frame outside this file and torch."""
    text = f"{type(error).__name__}: {error}".strip()
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.filename != __file__ and f"{os.sep}torch{os.sep}" not in frame.filename:
            text += f" (in {frame.name}, line {frame.lineno})"
            break
    return text[:MAX_ERROR_CHARS]


def _as_array(value: object) -> np.ndarray:
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().cpu().to(torch.float64).numpy().copy()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ProbeError(f"returned {type(value).__name__}, not numbers ({error})") from None


def _pair(result: object, method: str) -> tuple[object, object]:
    if not isinstance(result, tuple | list) or len(result) != 2:
        raise ProbeError(f"{method} must return a pair (values, log_det_J), got {type(result).__name__}")
    return result[0], result[1]


class _Recorder:
    """Collects arrays and error messages under ``case/quantity`` names."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.errors: dict[str, str] = {}
        self.notes: dict[str, str] = {}

    def attempt(self, key: str, action: Callable[[], object]) -> object | None:
        try:
            return action()
        except BaseException as error:  # the student's code may raise anything, SystemExit included
            if is_out_of_memory(error):
                raise  # a limit hit, not a wrong answer: the sandbox reports it as such
            self.errors[key] = error.args[0] if isinstance(error, ProbeError) else describe_error(error)
            return None

    def record(self, key: str, value: object) -> None:
        self.arrays[key] = _as_array(value)


def _build_layer(namespace: Mapping, case: dict, state: dict) -> tuple[object, list]:
    import torch

    layer = namespace["CouplingLayer"](case["dim"], case["hidden"], torch.tensor(case["mask"]))
    layer.to(getattr(torch, case["dtype"]))
    layer.st_net.load_state_dict(state)
    named = dict(layer.st_net.named_parameters())
    return layer, [named[key] for key in case["state_keys"]]


def _build_stack(namespace: Mapping, case: dict, state: dict) -> tuple[object, list]:
    import torch

    model = namespace["RealNVP"](case["dim"], case["hidden"], case["num_layers"])
    model.to(getattr(torch, case["dtype"]))
    model.load_state_dict(state)
    named = dict(model.named_parameters())
    return model, [named[key] for key in case["state_keys"]]


def _observe_forward(rec: _Recorder, name: str, flow: object, x, cotangent, parameters: list) -> None:
    """Forward pass, then gradients of ``<y, cotangent>`` and of ``sum(log_det_J)``."""
    import torch

    x = x.clone().requires_grad_(True)
    result = rec.attempt(f"{name}/forward", lambda: _pair(flow(x), "forward"))
    if result is None:
        return
    y, log_det_J = result
    for key, value in ((f"{name}/y", y), (f"{name}/log_det_J", log_det_J)):
        rec.attempt(key, lambda key=key, value=value: rec.record(key, value))
    if isinstance(y, torch.Tensor):
        rec.notes[f"{name}/y_dtype"] = str(y.dtype).removeprefix("torch.")

    def gradients(output: object, weight) -> list | None:
        if not isinstance(output, torch.Tensor) or not output.requires_grad:
            return None
        grads = torch.autograd.grad((output * weight).sum(), [x, *parameters], allow_unused=True, retain_graph=True)
        return [torch.zeros_like(p) if g is None else g for g, p in zip(grads, [x, *parameters], strict=True)]

    grads = rec.attempt(f"{name}/grad_y", lambda: gradients(y, cotangent))
    if grads is not None:
        rec.record(f"{name}/grad_y_x", grads[0])
        rec.record(f"{name}/grad_y_params", torch.cat([g.reshape(-1) for g in grads[1:]]))
    grads = rec.attempt(f"{name}/grad_log_det_J", lambda: gradients(log_det_J, 1.0))
    if grads is not None:
        rec.record(f"{name}/grad_log_det_J_params", torch.cat([g.reshape(-1) for g in grads[1:]]))


def _observe_inverse(rec: _Recorder, name: str, flow: object, x) -> None:
    """``inverse(forward(x))`` and ``forward(inverse(x))`` with their log-determinants."""
    import torch

    def run(label: str, first: str, second: str, start) -> None:
        def go() -> None:
            with torch.no_grad():
                middle, ld_first = _pair(getattr(flow, first)(start), first)
                end, ld_second = _pair(getattr(flow, second)(middle), second)
            rec.record(f"{name}/{label}", end)
            rec.record(f"{name}/{label}_log_det_sum", _as_array(ld_first) + _as_array(ld_second))
            if first == "inverse":
                rec.record(f"{name}/inverse", middle)

        rec.attempt(f"{name}/{label}", go)

    run("inverse_of_forward", "forward", "inverse", x)
    run("forward_of_inverse", "inverse", "forward", x)


def observe(namespace: Mapping, arrays: dict[str, np.ndarray], meta: dict) -> tuple[dict[str, np.ndarray], dict]:
    """Everything the checks need, from the classes defined in ``namespace``."""
    import torch

    rec = _Recorder()
    for case in meta["cases"]:
        name = case["name"]
        dtype = getattr(torch, case["dtype"])
        state = {key: torch.from_numpy(arrays[f"{name}/state/{key}"]).to(dtype) for key in case["state_keys"]}
        x = torch.from_numpy(arrays[f"{name}/x"]).to(dtype)
        cotangent = torch.from_numpy(arrays[f"{name}/cotangent"]).to(dtype)
        build = _build_layer if case["kind"] == "layer" else _build_stack
        built = rec.attempt(f"{name}/build", functools.partial(build, namespace, case, state))
        if built is None:
            continue
        flow, parameters = built
        _observe_forward(rec, name, flow, x, cotangent, parameters)
        _observe_inverse(rec, name, flow, x)
    return rec.arrays, {"errors": rec.errors, "notes": rec.notes}
