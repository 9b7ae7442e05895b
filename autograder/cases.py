"""The inputs the grader chooses: random non-zero weights and fresh inputs.

A case is everything needed to build one ``CouplingLayer`` (or a whole
``RealNVP`` stack) with known weights and run it on known inputs. Cases are
drawn from a seed chosen at grading time, so a submission cannot know them in
advance; they are described in plain arrays so they can cross into the sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from autograder import wire

HIDDEN = 16
LAYER_DIMS = (2, 3, 5)
STACK_DIMS = (2, 3)
STACK_LAYERS = 4
DTYPES = ("float32", "float64")
# A stack's round trip recomputes s and t from already-rounded values at every
# layer, so float32 errors compound; gentler weights keep four layers well
# conditioned while s stays far from zero (tests/test_cases.py checks both).
STACK_GAIN = 0.75
# The seed's ScaleTranslateNet: Linear, ReLU, Linear, ReLU, Linear.
_LINEAR_KEYS = ("net.0", "net.2", "net.4")


@dataclass(frozen=True)
class Case:
    """One layer (``kind='layer'``) or one RealNVP stack (``kind='stack'``)."""

    name: str
    kind: str
    dim: int
    dtype: str
    x: np.ndarray
    cotangent: np.ndarray
    state: dict[str, np.ndarray] = field(repr=False)
    mask: tuple[int, ...] = ()
    num_layers: int = 1
    hidden: int = HIDDEN

    @property
    def batch(self) -> int:
        return self.x.shape[0]

    def describe(self) -> str:
        where = f"mask {list(self.mask)}" if self.kind == "layer" else f"RealNVP with {self.num_layers} layers"
        return f"dim {self.dim}, {where}, {self.dtype}, batch {self.batch}"


def seed_mask(dim: int, parity: int) -> tuple[int, ...]:
    """The masks ``RealNVP`` builds: first half kept on even layers, second half on odd."""
    first_half = tuple(1 if j < dim // 2 else 0 for j in range(dim))
    return first_half if parity == 0 else tuple(1 - m for m in first_half)


def _st_net_state(
    rng: np.random.Generator, dim: int, hidden: int, dtype: str, gain: float = 1.5
) -> dict[str, np.ndarray]:
    """Weights that make every coordinate's ``s`` and ``t`` clearly non-zero.

    Scaled by fan-in so pre-activations are O(1): ``tanh(s)`` is then far from
    both 0 (where ``exp(s)`` and ``exp(-s)`` agree) and ±1 (where it saturates).
    """
    sizes = [(dim, hidden), (hidden, hidden), (hidden, 2 * dim)]
    state = {}
    for key, (fan_in, fan_out) in zip(_LINEAR_KEYS, sizes, strict=True):
        state[f"{key}.weight"] = (rng.standard_normal((fan_out, fan_in)) * gain / np.sqrt(fan_in)).astype(dtype)
        state[f"{key}.bias"] = (rng.uniform(0.2, 0.6, fan_out) * rng.choice([-1, 1], fan_out)).astype(dtype)
    return state


def _inputs(rng: np.random.Generator, batch: int, dim: int, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    x = (rng.standard_normal((batch, dim)) * 1.5).astype(dtype)
    cotangent = rng.standard_normal((batch, dim)).astype(dtype)
    return x, cotangent


def make_cases(seed: int) -> list[Case]:
    """Every layer and stack case for one grading run, drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    cases = []
    for dim in LAYER_DIMS:
        for parity in (0, 1):
            for dtype in DTYPES:
                for batch in (1, 2 * dim + 3):
                    x, cotangent = _inputs(rng, batch, dim, dtype)
                    cases.append(
                        Case(
                            name=f"layer-d{dim}-p{parity}-{dtype}-b{batch}",
                            kind="layer",
                            dim=dim,
                            dtype=dtype,
                            x=x,
                            cotangent=cotangent,
                            state=_st_net_state(rng, dim, HIDDEN, dtype),
                            mask=seed_mask(dim, parity),
                        )
                    )
    for dim in STACK_DIMS:
        for dtype in DTYPES:
            x, cotangent = _inputs(rng, 9, dim, dtype)
            state = {
                f"coupling_layers.{i}.st_net.{key}": value
                for i in range(STACK_LAYERS)
                for key, value in _st_net_state(rng, dim, HIDDEN, dtype, STACK_GAIN).items()
            }
            cases.append(
                Case(
                    name=f"stack-d{dim}-{dtype}",
                    kind="stack",
                    dim=dim,
                    dtype=dtype,
                    x=x,
                    cotangent=cotangent,
                    state=state,
                    num_layers=STACK_LAYERS,
                )
            )
    return cases


def encode_cases(cases: list[Case]) -> bytes:
    """The cases in the wire format that ``probe.observe`` reads."""
    arrays = {}
    described = []
    for case in cases:
        arrays[f"{case.name}/x"] = case.x
        arrays[f"{case.name}/cotangent"] = case.cotangent
        for key, value in case.state.items():
            arrays[f"{case.name}/state/{key}"] = value
        described.append(
            {
                "name": case.name,
                "kind": case.kind,
                "dim": case.dim,
                "hidden": case.hidden,
                "dtype": case.dtype,
                "mask": list(case.mask),
                "num_layers": case.num_layers,
                "state_keys": list(case.state),
            }
        )
    return wire.encode(arrays, {"cases": described})
