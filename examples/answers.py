"""Example answers to the one TODO (``CouplingLayer.forward``), one per student id.

``python -m autograder generate`` writes each into a copy of the release
notebook, in place of the stub, as ``examples/submitted/<id>/realnvp/realnvp.ipynb``.
The code is written unindented; it is indented to the stub's level. The comment
by each answer is the verdict ``autograder.checks`` gives it (tests/test_notebooks.py
checks these with stock ``nbgrader autograde``).
"""

STUB = (
    "# YOUR CODE HERE: compute y and log_det_J\n"
    'raise NotImplementedError("TODO: compute y and log_det_J in CouplingLayer.forward (section 1.5)")'
)

ANSWERS: dict[str, str] = {
    # all three parts pass
    "correct": (
        "y = x_masked + (1 - mask) * (x * torch.exp(s) + t)\n"
        "log_det_J = torch.sum((1 - mask) * s, dim=1)"
    ),
    # all three parts pass: the same transformation, written with torch.where
    "correct_where": (
        "keep = mask.bool()\n"
        "y = torch.where(keep, x, x * torch.exp(s) + t)\n"
        "log_det_J = torch.where(keep, torch.zeros_like(s), s).sum(dim=1)"
    ),
    # forward_y passes; log_det_J and round_trip fail
    "logdet_sign": (
        "y = x_masked + (1 - mask) * (x * torch.exp(s) + t)\n"
        "log_det_J = -torch.sum((1 - mask) * s, dim=1)"
    ),
    # forward_y passes; log_det_J and round_trip fail
    "logdet_kept_coords": (
        "y = x_masked + (1 - mask) * (x * torch.exp(s) + t)\n"
        "log_det_J = torch.sum(mask * s, dim=1)"
    ),
    # log_det_J passes; forward_y and round_trip fail
    "exp_minus_s": (
        "y = x_masked + (1 - mask) * (x * torch.exp(-s) + t)\n"
        "log_det_J = torch.sum((1 - mask) * s, dim=1)"
    ),
    # log_det_J passes; forward_y and round_trip fail
    "kept_half_changed": (
        "y = x * torch.exp(s) + t\n"
        "log_det_J = torch.sum((1 - mask) * s, dim=1)"
    ),
    # log_det_J passes; forward_y and round_trip fail
    "shift_then_scale": (
        "y = x_masked + (1 - mask) * ((x + t) * torch.exp(s))\n"
        "log_det_J = torch.sum((1 - mask) * s, dim=1)"
    ),
    # every part fails: the stub is left as released
    "unimplemented": STUB,
}
