"""The RealNVP course's autograder: sandboxed runs, checks on the grader's side, reports."""
