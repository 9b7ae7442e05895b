"""course.recipes: the seed's settings stay one argument away, and the course's schedule has its shape."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from course.recipes import COURSE_RECIPE, SEED_RECIPE, Recipe, cpu_threads


def test_the_seed_recipe_is_the_seed_homeworks_settings():
    recipe = SEED_RECIPE
    assert (recipe.n_steps, recipe.batch_size, recipe.lr) == (10_000, 128, 1e-3)
    assert (recipe.hidden_dim, recipe.num_coupling_layers) == (128, 6)
    assert not (recipe.identity_init or recipe.cosine_decay or recipe.fused_adam)
    assert recipe.max_grad_norm is None and recipe.cpu_threads is None
    assert {recipe.lr_factor(step) for step in range(recipe.n_steps)} == {1.0}
    assert {recipe.noise_at(step) for step in range(recipe.n_steps)} == {0.0}


def learning_rates(recipe: Recipe) -> list[float]:
    """What Adam is actually given, step by step, under LambdaLR(recipe.lr_factor)."""
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=recipe.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, recipe.lr_factor)
    rates = []
    for _ in range(recipe.n_steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_the_course_recipe_warms_up_then_decays_to_zero():
    rates = learning_rates(COURSE_RECIPE)
    warmup = COURSE_RECIPE.warmup_steps
    assert rates[0] == pytest.approx(COURSE_RECIPE.lr / warmup)
    assert rates[warmup - 1] == pytest.approx(COURSE_RECIPE.lr)
    assert all(a < b for a, b in itertools.pairwise(rates[:warmup]))
    decay = rates[warmup - 1 :]
    assert all(a >= b for a, b in itertools.pairwise(decay))
    assert rates[-1] < 1e-3 * COURSE_RECIPE.lr


def test_the_course_recipes_noise_shrinks_geometrically_then_stays():
    recipe = COURSE_RECIPE
    noise = [recipe.noise_at(step) for step in range(recipe.n_steps)]
    anneal_steps = round(recipe.noise_anneal * recipe.n_steps)
    assert noise[0] == recipe.noise_start and set(noise[anneal_steps:]) == {recipe.noise_end}
    ratios = [b / a for a, b in itertools.pairwise(noise[:anneal_steps])]
    assert all(ratio == pytest.approx(ratios[0]) for ratio in ratios) and ratios[0] < 1
    assert noise[anneal_steps // 2] == pytest.approx(math.sqrt(recipe.noise_start * recipe.noise_end))


def test_noise_to_or_from_zero_changes_along_a_straight_line():
    recipe = Recipe(n_steps=10, noise_start=0.1, noise_end=0.0, noise_anneal=1.0)
    assert [recipe.noise_at(step) for step in (0, 5, 10)] == pytest.approx([0.1, 0.05, 0.0])


def test_a_shorter_run_keeps_everything_but_its_length_and_warmup():
    short = COURSE_RECIPE.with_steps(20)
    assert (short.n_steps, short.warmup_steps) == (20, 2)
    assert short.lr == COURSE_RECIPE.lr and short.max_grad_norm == COURSE_RECIPE.max_grad_norm
    assert short.noise_at(0) == COURSE_RECIPE.noise_start and short.noise_at(19) == COURSE_RECIPE.noise_end
    assert len(learning_rates(short)) == 20


@pytest.mark.parametrize(
    "settings",
    [
        {"n_steps": 0},
        {"batch_size": 0},
        {"n_steps": 10, "warmup_steps": 11},
        {"noise_start": -0.1},
        {"noise_anneal": 1.5},
    ],
)
def test_impossible_settings_are_refused_with_a_reason(settings):
    with pytest.raises(ValueError, match="must be"):
        Recipe(**settings)


def test_cpu_threads_sets_the_count_and_restores_it_even_after_an_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError), cpu_threads(before + 1):
        assert torch.get_num_threads() == before + 1
        raise RuntimeError("training failed")
    assert torch.get_num_threads() == before
    with cpu_threads(None):
        assert torch.get_num_threads() == before
