"""Run a command as Docker's default seccomp profile runs a container's processes: no new namespaces.

    python tests/docker_like.py [--no-landlock] -- COMMAND [ARGUMENT...]

Before it runs COMMAND, it installs the namespace rules of Docker's default profile (moby's
profiles/seccomp/default.json), inherited by everything COMMAND starts: ``clone3`` fails with ENOSYS
(so that libc falls back to ``clone``), ``unshare``, ``setns`` and ``clone`` with a namespace flag fail with
EPERM. bubblewrap then fails as it does in Gradescope's container, and the grader falls back by itself.
``--no-landlock`` also refuses Landlock's three calls with EPERM, as Docker's profile did before 20.10.18.

Run as root it installs the filter as Docker's runtime does, without ``no_new_privs``; otherwise it sets it.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

from autograder import zygote

LANDLOCK_CALLS = (444, 445, 446)  # landlock_create_ruleset, landlock_add_rule, landlock_restrict_self


def wrapper(landlock: bool = True) -> tuple[str, ...]:
    """The command line that runs what follows it under these rules, from any folder."""
    return (sys.executable, str(Path(__file__).resolve()), *(() if landlock else ("--no-landlock",)), "--")


def docker_program(machine: str, landlock: bool) -> list:
    """The filter: the architecture check, then the namespace rules (and Landlock's calls unless allowed)."""
    refused = [zygote.DENIED[machine]["unshare"], zygote.DENIED[machine]["setns"]]
    if not landlock:
        refused += LANDLOCK_CALLS
    return [
        *zygote.arch_check(machine),
        (zygote.JEQ, "enosys", 0, zygote.CLONE3),
        (zygote.JEQ, "clone", 0, zygote.CLONE[machine]),
        *[(zygote.JEQ, "eperm", 0, number) for number in refused],
        (zygote.RET, 0, 0, zygote.ALLOW),
        ("clone", None, None, None),
        (zygote.LD, 0, 0, 16),  # clone's flags
        (zygote.JSET, "eperm", 0, zygote.NAMESPACE_FLAGS),
        (zygote.RET, 0, 0, zygote.ALLOW),
        ("eperm", None, None, None),
        (zygote.RET, 0, 0, zygote.EPERM),
        ("enosys", None, None, None),
        (zygote.RET, 0, 0, zygote.ENOSYS),
    ]


def main(argv: list[str]) -> None:
    landlock = "--no-landlock" not in argv[: argv.index("--")] if "--" in argv else True
    command = argv[argv.index("--") + 1 :] if "--" in argv else []
    machine = platform.machine()
    if not command or machine not in zygote.SECCOMP_ARCH:
        sys.exit(f"usage: python tests/docker_like.py [--no-landlock] -- COMMAND... (on {sorted(zygote.SECCOMP_ARCH)})")
    zygote.install_filter(docker_program(machine, landlock), no_new_privs=os.geteuid() != 0)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
