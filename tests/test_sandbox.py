"""The sandbox: statuses for each way a submission can fail, and what it can and cannot reach.

Most tests share one bubblewrap sandbox (small limits, so the abusive submissions
end quickly); each asserts the status, and the verdicts where they matter.
"""

from __future__ import annotations

import io
import os
import platform
import socket
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

from autograder import sandbox as sandbox_module
from autograder import wire
from autograder.cases import encode_cases, make_cases
from autograder.checks import PARTS, Judge
from autograder.sandbox import Limits, Sandbox, isolation
from tests.corpus import CORRECT_LOG_DET, host_processes_with, module_for

ROOT = Path(__file__).resolve().parent.parent
LIMITS = Limits(timeout_s=3, memory_mb=1536, output_kb=64)

CORRECT_Y = "y = x_masked + (1 - mask) * (x * torch.exp(s) + t)"
WRONG_Y = "y = x_masked + (1 - mask) * (x * torch.exp(-s) + t)"


def module(extra: str = "", y: str = CORRECT_Y) -> str:
    """The release notebook's definitions with ``y`` as the student's line, then ``extra`` at top level."""
    return module_for(f"{y}\n{CORRECT_LOG_DET}") + "\n" + textwrap.dedent(extra)


@pytest.fixture(scope="module")
def cases():
    chosen = make_cases(20240607)
    return chosen, encode_cases(chosen), Judge(chosen)


@pytest.fixture(scope="module")
def box():
    warning = isolation()
    assert not warning, f"these tests need bubblewrap (apt-get install bubblewrap): {warning}"
    with Sandbox(LIMITS) as sandbox:
        yield sandbox


def run(box: Sandbox, cases, source: str) -> sandbox_module.Outcome:
    outcome = box.run(source, cases[1])
    assert outcome.status in sandbox_module.STATUSES
    return outcome


def assert_all_pass(box: Sandbox, cases, source: str = "") -> None:
    outcome = run(box, cases, source or module())
    assert outcome.status == "ok", outcome.message
    verdicts = cases[2](outcome.arrays, outcome.meta)
    assert all(verdicts[part].passed for part in PARTS), {part: v.message for part, v in verdicts.items()}


# ---------------------------------------------------------------- statuses


def test_correct_submission_is_ok_and_passes_every_part(box, cases):
    assert_all_pass(box, cases)


def test_top_level_import_error_is_an_error_with_its_line(box, cases):
    outcome = run(box, cases, module("from torch import no_such_name\n"))
    assert outcome.status == "error"
    assert outcome.message.startswith("your notebook's code raised ImportError")
    assert "line" in outcome.message
    assert outcome.arrays == {} and outcome.meta == {}


def test_top_level_system_exit_is_an_error(box, cases):
    outcome = run(box, cases, module("import sys\nsys.exit(0)\n"))
    assert outcome.status == "error" and "SystemExit" in outcome.message


def test_an_endless_loop_times_out_and_the_next_submission_is_graded(box, cases):
    starts = box.stats["starts"]
    outcome = run(box, cases, module("while True:\n    pass\n"))
    assert outcome.status == "timeout", outcome.message
    assert "3 s" in outcome.message
    assert_all_pass(box, cases)
    assert box.stats["starts"] == starts + 1  # a fresh sandbox


def test_sleeping_times_out_and_leaves_no_process_on_the_machine(box, cases):
    source = module("import subprocess, time\nsubprocess.Popen(['sleep', '1000.5151'])\ntime.sleep(100)\n")
    outcome = run(box, cases, source)
    assert outcome.status == "timeout"
    assert host_processes_with("1000.5151") == []


@pytest.mark.parametrize(
    "hog",
    ["hog = bytearray(6 * 2**30)", "hog = torch.empty(6 * 2**30, dtype=torch.uint8)", "hog = torch.ones(2**31)"],
)
def test_allocating_6_gb_is_memory(box, cases, hog):
    outcome = run(box, cases, module(hog + "\n"))
    assert outcome.status == "memory", outcome.message
    assert "1536 MB" in outcome.message


def test_running_out_of_memory_inside_forward_is_memory(box, cases):
    outcome = run(box, cases, module(y="y = torch.empty(2**33, dtype=torch.uint8)"))
    assert outcome.status == "memory", outcome.message


def test_printing_10_mb_is_output(box, cases):
    outcome = run(box, cases, module("print('x' * (10 * 2**20))\n"))
    assert outcome.status == "output", outcome.message
    assert "64 KB" in outcome.message


@pytest.mark.parametrize(
    "fill",
    [
        "for n in range(2000):\n    open(f'big-{n}', 'wb').write(bytes(60_000))",  # each under the output limit
        "import os\nos.mkdir('many')\nfor n in range(20_000):\n    open(f'many/{n}', 'w').close()",
    ],
)
def test_filling_the_scratch_folder_is_output(box, cases, fill):
    outcome = run(box, cases, module(fill + "\n"))
    assert outcome.status == "output", outcome.message
    assert "more than 64 MB or 10,000 files" in outcome.message
    assert_all_pass(box, cases)


def test_printing_a_little_is_fine(box, cases):
    assert_all_pass(box, cases, module("import sys\nprint('hello')\nprint('warn', file=sys.stderr)\n"))


def test_os_exit_is_crashed(box, cases):
    outcome = run(box, cases, module("import os\nos._exit(0)\n"))
    assert outcome.status == "crashed"
    assert "before returning a result" in outcome.message


def test_a_segfault_is_crashed(box, cases):
    outcome = run(box, cases, module("import ctypes\nctypes.string_at(0)\n"))
    assert outcome.status == "crashed" and "SIGSEGV" in outcome.message


def test_the_zygote_is_out_of_reach_or_restarted_when_killed(box, cases):
    starts = box.stats["starts"]
    outcome = run(box, cases, module("import os\nos.kill(os.getppid(), 9)\nimport time\ntime.sleep(10)\n"))
    if box.stats["landlock"] >= 6:  # Landlock's signal scope: nothing outside the child's own processes
        assert outcome.status == "error" and "PermissionError" in outcome.message, outcome.message
        assert_all_pass(box, cases)
        assert box.stats["starts"] == starts
    else:
        assert outcome.status == "crashed", outcome.message
        assert_all_pass(box, cases)
        assert box.stats["starts"] == starts + 1


def test_a_forged_reply_is_crashed(box, cases):
    outcome = run(box, cases, module("import os\nos.write(3, b'\\x00' * 64)\nos._exit(0)\n"))
    assert outcome.status == "crashed" and "malformed" in outcome.message


def test_a_compressed_reply_is_refused(box, cases):
    source = module(
        "import io, json, os, numpy\n"
        "buffer = io.BytesIO()\n"
        "meta = numpy.frombuffer(json.dumps({'status': 'ok', 'message': '', 'probe': {}}).encode(), numpy.uint8)\n"
        "numpy.savez_compressed(buffer, x=numpy.zeros(10), __meta__=meta)\n"
        "os.write(3, buffer.getvalue())\n"
        "os._exit(0)\n"
    )
    outcome = run(box, cases, source)
    assert outcome.status == "crashed" and "malformed" in outcome.message


def test_an_oversized_reply_is_crashed(box, cases):
    outcome = run(box, cases, module("import os\nos.write(3, bytes(65 * 2**20))\nos._exit(0)\n"))
    assert outcome.status == "crashed" and "more than 64 MB" in outcome.message


def test_many_processes_hit_the_process_limit(box, cases):
    source = module("import subprocess\nkids = [subprocess.Popen(['sleep', '30']) for _ in range(500)]\n")
    outcome = run(box, cases, source)
    assert outcome.status == "crashed", outcome.message
    assert "more than 64 processes" in outcome.message
    assert_all_pass(box, cases)


# ---------------------------------------------------------------- what a submission can reach


def test_the_course_files_are_not_visible(box, cases):
    notebook = ROOT / "source" / "realnvp" / "realnvp.ipynb"
    outcome = run(box, cases, module(f"open({str(notebook)!r}).read()\n"))
    assert outcome.status == "error"
    assert "FileNotFoundError" in outcome.message


def test_only_the_sandbox_filesystem_exists(box, cases):
    source = module(f"""
        import os, sys
        hidden = [p for p in ['/work', {str(ROOT)!r}, '/home', '/root/.ssh', '/etc/shadow', '/var', '/sys', '/run']
                  if os.path.exists(p)]
        if hidden:
            raise RuntimeError(f'visible: {{hidden}}')
        if sorted(os.listdir('/sandbox/code')) != ['course', 'landlock.py', 'probe.py', 'wire.py', 'zygote.py']:
            raise RuntimeError(f"code folder: {{os.listdir('/sandbox/code')}}")
        if os.getuid() != 65534 or os.environ.get('HOME') != '/tmp' or 'NBGRADER_EXECUTION' not in os.environ:
            raise RuntimeError(f'identity: {{os.getuid()}} {{dict(os.environ)}}')
    """)
    assert_all_pass(box, cases, source)


@pytest.mark.parametrize(
    "path",
    [
        "/etc/passwd",
        "/etc/new-file",
        "/usr/bin/python-evil",
        "/sandbox/venv/evil.pth",
        "/sandbox/code/probe.py",
        "/new-file",
        "/dev/evil",
        "/dev/shm/evil",
        "/proc/sys/vm/swappiness",
        "/proc/self/oom_score_adj",
        "/work/main/HACKED",
    ],
)
def test_writing_outside_scratch_and_tmp_fails(box, cases, path):
    outcome = run(box, cases, module(f"open({path!r}, 'a').write('1')\n"))
    assert outcome.status == "error", outcome.message
    assert any(name in outcome.message for name in ("OSError", "PermissionError", "FileNotFoundError")), outcome.message


def test_writing_into_scratch_and_tmp_works(box, cases):
    source = module("""
        import os
        open('notes.txt', 'w').write('mine')
        open('/tmp/notes.txt', 'w').write('mine')
        open('/dev/null', 'w').write('discarded')
        assert 'class CouplingLayer' in open('submission.py').read()
    """)
    assert_all_pass(box, cases, source)


def test_nothing_of_one_submission_reaches_the_next(box, cases):
    first = module("""
        import os, subprocess, time
        sleeper = subprocess.Popen(['sleep', '1000.4242'], start_new_session=True)
        open('/tmp/pid', 'w').write(str(sleeper.pid))
        open('left-in-scratch', 'w').write('x')
        if os.fork() == 0:  # a daemon: double fork, new session, writes later
            os.setsid()
            if os.fork() == 0:
                time.sleep(1.5)
                open('/tmp/late', 'w').write('x')
                os._exit(0)
            os._exit(0)
    """)
    assert_all_pass(box, cases, first)
    assert host_processes_with("1000.4242") == []
    container = box._state["process"].process.pid
    inside = sandbox_module._host_descendants(container, sandbox_module._host_parents())
    assert len(inside) == 2, inside  # the sandbox's init and the zygote: nothing the submission started
    second = module("""
        import os, time
        time.sleep(2)
        left = [p for p in ('/tmp/pid', '/tmp/late', 'left-in-scratch') if os.path.exists(p)]
        if left or os.getppid() != 2:
            raise RuntimeError(f'files {left}, parent {os.getppid()}')
    """)
    assert_all_pass(box, cases, second)


def test_monkeypatching_in_the_sandbox_does_not_change_verdicts(box, cases):
    source = module(
        """
        import builtins, numpy, torch
        torch.allclose = lambda *a, **k: True
        numpy.allclose = lambda *a, **k: True
        builtins.abs = lambda *a: 0
        builtins.isinstance = lambda *a: True
        torch.Tensor.__eq__ = lambda *a: True
        """,
        y=WRONG_Y,
    )
    outcome = run(box, cases, source)
    assert outcome.status == "ok"
    verdicts = cases[2](outcome.arrays, outcome.meta)
    assert not verdicts["forward_y"].passed
    assert "exp(-s)" in verdicts["forward_y"].hint


def test_there_is_no_network(box, cases):
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        connect = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)\n"
        outcome = run(box, cases, module(connect))
    assert outcome.status == "error"
    assert "Error" in outcome.message


def test_other_processes_memory_and_the_kernel_are_out_of_reach(box, cases):
    seccomp = platform.machine() in ("x86_64", "aarch64")
    source = module(f"""
        import ctypes, os
        problems = []
        for path in ('/proc/1/mem', '/proc/2/mem', '/proc/2/environ', '/proc/2/fd/0'):
            try:
                open(path, 'rb').read(1)
                problems.append(path)
            except OSError:
                pass
        libc = ctypes.CDLL(None, use_errno=True)
        if {seccomp} and libc.ptrace(16, 2, 0, 0) == 0:  # PTRACE_ATTACH to the zygote
            problems.append('ptrace')
        if {seccomp} and libc.unshare(0x10000000) == 0:  # a new user namespace
            problems.append('unshare')
        if problems:
            raise RuntimeError(f'reachable: {{problems}}')
    """)
    assert box.stats["seccomp"] is seccomp
    assert_all_pass(box, cases, source)


# ---------------------------------------------------------------- replies and degraded mode


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def test_payloads_are_checked_before_use():
    meta = {"status": "ok", "message": "", "probe": {"errors": {"a/forward": "ValueError: no"}, "notes": {}}}
    status, _, arrays, checked = sandbox_module._check_payload(wire.encode({"a/y": np.ones(3)}, meta))
    assert status == "ok" and checked == meta["probe"] and np.array_equal(arrays["a/y"], np.ones(3))
    with zipfile.ZipFile(buffer := io.BytesIO(), "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.npy", b"\0" * 2**20)
    meta_array = np.frombuffer(b'{"status": "ok", "message": ""}', dtype=np.uint8)
    bad = [
        b"",
        b"not a zip",
        buffer.getvalue(),
        _npz(x=np.array(["text"]), __meta__=meta_array),
        _npz(x=np.ones(2, dtype=complex), __meta__=meta_array),
        wire.encode({}, {"status": "great", "message": ""}),
        wire.encode({}, {"status": "ok", "message": "", "probe": []}),
        wire.encode({}, {"status": "ok", "message": "", "probe": {"errors": {"a": 1}}}),
    ]
    for blob in bad:
        with pytest.raises(ValueError):
            sandbox_module._check_payload(blob)


def test_without_bubblewrap_or_landlock_the_warning_says_files_are_readable(monkeypatch):
    monkeypatch.setattr(sandbox_module.shutil, "which", lambda name: None)
    monkeypatch.setattr(sandbox_module.landlock, "abi", lambda: 0)
    warning = isolation.__wrapped__()
    assert (
        "NOT isolated" in warning and "read every file" in warning and "bubblewrap (bwrap) is not installed" in warning
    )


@pytest.mark.parametrize("abi", [3, 6])
def test_without_bubblewrap_the_warning_says_what_landlock_holds(monkeypatch, abi):
    monkeypatch.setattr(sandbox_module.shutil, "which", lambda name: None)
    monkeypatch.setattr(sandbox_module.landlock, "abi", lambda: abi)
    warning = isolation.__wrapped__()
    assert warning.startswith("degraded isolation, because bubblewrap (bwrap) is not installed")
    assert f"Landlock (ABI {abi})" in warning and "writing its scratch folder" in warning
    assert ("cannot keep it from signalling" in warning) is (abi < 6)


def test_degraded_mode_still_grades_and_cleans_up(cases):
    with Sandbox(LIMITS, isolated=False) as degraded:
        leaker = "import subprocess\nsubprocess.Popen(['sleep', '1000.6363'], start_new_session=True)\n"
        assert_all_pass(degraded, cases, module(leaker))
        assert host_processes_with("1000.6363") == []
        assert run(degraded, cases, module("hog = bytearray(6 * 2**30)\n")).status == "memory"
        outcome = run(degraded, cases, module(leaker.replace("6363", "6464") + "while True:\n    pass\n"))
        assert outcome.status == "timeout"
        assert host_processes_with("1000.6464") == []
    assert not os.path.exists(degraded._dir)
