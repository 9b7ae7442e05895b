import re

import pytest

from autograder import wire
from autograder.cases import encode_cases, make_cases
from autograder.checks import PARTS, Judge, check_part
from autograder.probe import observe
from tests.corpus import CORPUS, SOLUTION

# The corpus entries that are plain answers: no cheating, attack, abuse or tampering around them (they run here,
# in this process, with no sandbox), and no missing name whose explanation the grader adds (tests/test_grading.py
# checks those).
PLAIN_ANSWERS = {
    name: entry
    for name, entry in CORPUS.items()
    if entry.status == "ok" and not name.startswith(("cheat_", "attack_", "abuse_", "tampered_", "name_"))
}


@pytest.fixture(scope="module")
def cases():
    return make_cases(seed=20261129)


@pytest.fixture(scope="module")
def judge(cases):
    return Judge(cases)


def verdicts_for(namespace, cases, judge):
    arrays, meta = observe(namespace, *wire.decode(encode_cases(cases)))
    return judge(arrays, meta)


@pytest.mark.parametrize("name", sorted(PLAIN_ANSWERS))
def test_each_plain_answer_gets_its_expected_parts(name, namespace_for, cases, judge):
    entry = PLAIN_ANSWERS[name]
    verdicts = verdicts_for(namespace_for(entry.answer, entry.above), cases, judge)
    assert {part for part, verdict in verdicts.items() if verdict.passed} == entry.passed
    for part, fragment in entry.hints.items():
        assert fragment in verdicts[part].hint


def test_a_failed_part_carries_the_students_own_error(namespace_for, cases, judge):
    answer = "raise ValueError('my shapes are off')\n"
    verdicts = verdicts_for(namespace_for(answer), cases, judge)
    assert not any(verdict.passed for verdict in verdicts.values())
    assert "ValueError: my shapes are off" in verdicts["forward_y"].student_error
    assert "forward(x) failed" in verdicts["forward_y"].hint


def test_the_hint_names_the_case_but_not_the_reference(namespace_for, cases, judge):
    verdict = verdicts_for(namespace_for(CORPUS["exp_minus_s"].answer), cases, judge)["forward_y"]
    assert "exp(-s)" in verdict.hint and "dim 2, mask [1, 0]" in verdict.hint
    assert re.search(r"\d\.\d", verdict.hint) is None, "no numbers from the cases or the reference"


def test_check_part_passes_quietly_on_a_noisy_correct_answer(namespace_for, capfd):
    namespace = namespace_for(CORPUS["correct_noisy"].answer)
    for part in PARTS:
        check_part(part, namespace)
    out, err = capfd.readouterr()
    assert out == "" and err == "", "nbgrader scores any stderr in a test cell as zero"


def test_check_part_raises_a_readable_message(namespace_for, capfd):
    namespace = namespace_for(CORPUS["logdet_sign"].answer)
    check_part("forward_y", namespace)
    with pytest.raises(AssertionError, match="log_det_J has the opposite sign"):
        check_part("log_det_J", namespace)
    assert capfd.readouterr().err == ""


def test_check_part_draws_fresh_cases_each_time(namespace_for, monkeypatch):
    seeds = []
    monkeypatch.setattr("autograder.checks.make_cases", lambda seed: seeds.append(seed) or make_cases(seed))
    namespace = namespace_for(SOLUTION)
    check_part("round_trip", namespace)
    check_part("round_trip", namespace)
    assert len(set(seeds)) == 2


def test_an_answer_right_only_on_the_notebooks_default_shapes_fails(namespace_for, cases, judge):
    answer = "y = x_masked + (1 - mask) * (x * torch.exp(s) + t)\nlog_det_J = ((1 - mask) * s)[:, 1]\n"
    verdicts = verdicts_for(namespace_for(answer), cases, judge)
    assert not verdicts["log_det_J"].passed


def test_a_float64_answer_computed_in_float32_fails(namespace_for, cases, judge):
    answer = "y = (x_masked + (1 - mask) * (x * torch.exp(s) + t)).float().to(x.dtype)\n"
    answer += "log_det_J = torch.sum((1 - mask) * s, dim=1)\n"
    verdicts = verdicts_for(namespace_for(answer), cases, judge)
    assert not verdicts["forward_y"].passed and "float64" in verdicts["forward_y"].hint
