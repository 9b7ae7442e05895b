"""course.evaluation: the scores the training notebook prints and the benchmark compares."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from course.evaluation import TARGETS, Evaluation, Targets, energy_distance, evaluate


class GaussianFlow(torch.nn.Module):
    """x = shift + scale * z: a flow whose density and samples are known exactly (float64)."""

    def __init__(self, shift: tuple[float, float], scale: tuple[float, float]) -> None:
        super().__init__()
        self.shift = torch.nn.Parameter(torch.tensor(shift, dtype=torch.float64))
        self.log_scale = torch.nn.Parameter(torch.tensor(scale, dtype=torch.float64).log())

    def inverse(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.shift + z * self.log_scale.exp(), self.log_scale.sum().expand(len(z))

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        z = (x - self.shift) / self.log_scale.exp()
        return -0.5 * (z**2 + math.log(2 * math.pi)).sum(dim=1) - self.log_scale.sum()


def gaussian_data(shift: tuple[float, float], scale: tuple[float, float]):
    def sample(n: int) -> torch.Tensor:
        return torch.tensor(shift) + torch.randn(n, 2) * torch.tensor(scale)

    return sample


DATA = gaussian_data((0.2, -0.1), (0.5, 0.3))


def test_energy_distance_of_two_point_masses_is_twice_their_distance():
    a = torch.tensor([[0.0, 0.0]]).expand(50, 2)
    b = torch.tensor([[3.0, 4.0]]).expand(70, 2)
    assert energy_distance(a, b) == pytest.approx(10.0)
    assert energy_distance(a, a) == 0.0


def test_energy_distance_equals_the_sum_over_all_pairs():
    generator = torch.Generator().manual_seed(1)
    a = torch.randn(7, 2, generator=generator, dtype=torch.float64)
    b = torch.randn(5, 2, generator=generator, dtype=torch.float64) + 0.3

    def mean_distance(p, q):
        return sum(float((x - y).norm()) for x, y in itertools.product(p, q)) / (len(p) * len(q))

    expected = 2 * mean_distance(a, b) - mean_distance(a, a) - mean_distance(b, b)
    assert energy_distance(a, b) == pytest.approx(expected, rel=1e-12)


def test_the_true_model_scores_its_entropy_and_the_sampling_floor():
    scores = evaluate(GaussianFlow((0.2, -0.1), (0.5, 0.3)), DATA, n_points=3000)
    entropy = sum(0.5 * math.log(2 * math.pi * math.e * s**2) for s in (0.5, 0.3))
    assert scores.nll == pytest.approx(entropy, abs=0.05)
    assert scores.energy_distance < 4 * scores.energy_floor + 1e-3
    assert scores.precision > 0.9 and scores.coverage > 0.9


def test_a_shifted_model_scores_worse_on_every_count():
    true = evaluate(GaussianFlow((0.2, -0.1), (0.5, 0.3)), DATA, n_points=2000)
    shifted = evaluate(GaussianFlow((0.9, -0.1), (0.5, 0.3)), DATA, n_points=2000)
    assert shifted.nll > true.nll + 0.5
    assert shifted.energy_distance > 10 * true.energy_distance
    assert shifted.precision < true.precision and shifted.coverage < true.coverage


def test_scores_repeat_and_leave_the_callers_random_state_alone():
    model = GaussianFlow((0.0, 0.0), (1.0, 1.0))
    torch.manual_seed(123)
    state = torch.get_rng_state()
    first = evaluate(model, DATA, n_points=500)
    assert torch.equal(torch.get_rng_state(), state)
    assert evaluate(model, DATA, n_points=500) == first
    assert evaluate(model, DATA, n_points=500, seed=1) != first


def test_a_float32_model_gets_float32_inputs():
    in_float64 = evaluate(GaussianFlow((0.2, -0.1), (0.5, 0.3)), DATA, n_points=500)
    in_float32 = evaluate(GaussianFlow((0.2, -0.1), (0.5, 0.3)).float(), DATA, n_points=500)
    assert in_float32.nll == pytest.approx(in_float64.nll, abs=1e-4)
    assert in_float32.energy_distance == pytest.approx(in_float64.energy_distance, abs=1e-5)


def scores(**changed: float) -> Evaluation:
    """Scores that meet every target, with ``changed`` ones replaced."""
    met = {"nll": -1.234, "energy_distance": 0.0023, "energy_floor": 0.0001, "precision": 0.95, "coverage": 1.0}
    return Evaluation(**(met | changed), n_points=5000, radius=0.05)


def test_the_report_names_every_score():
    text = str(scores(energy_distance=0.0123, precision=0.86, coverage=0.997))
    for expected in ("held-out NLL", "-1.23 nats", "0.0123", "0.0001", "precision", "0.86", "coverage", "1.00"):
        assert expected in text


def test_a_model_that_meets_every_target_is_told_so():
    assert TARGETS.misses(scores()) == []
    assert str(scores()).splitlines()[-1] == (
        "the course's targets (NLL <= -0.5, energy distance <= 0.015, precision >= 0.85, coverage >= 0.99): all met"
    )


@pytest.mark.parametrize(
    ("changed", "missed"),
    [
        ({"nll": -0.42}, "NLL -0.420 > -0.5"),
        ({"energy_distance": 0.0345}, "energy distance 0.0345 > 0.015"),
        ({"precision": 0.846}, "precision 0.846 < 0.85"),
        ({"coverage": 0.985}, "coverage 0.985 < 0.99"),
    ],
)
def test_each_missed_target_is_named_with_its_score(changed, missed):
    assert TARGETS.misses(scores(**changed)) == [missed]
    assert str(scores(**changed)).endswith(f": missed, {missed}")


def test_the_targets_are_the_bounds_themselves():
    assert TARGETS.misses(scores(nll=-0.5, energy_distance=0.015, precision=0.85, coverage=0.99)) == []
    assert len(TARGETS.misses(scores(nll=0.1, energy_distance=0.1, precision=0.5, coverage=0.5))) == 4
    assert Targets(precision=0.95).misses(scores(precision=0.9)) == ["precision 0.900 < 0.95"]
