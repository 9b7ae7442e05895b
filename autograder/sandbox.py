"""Run a student's module where it can hurt nothing: the trusted side of the sandbox.

A :class:`Sandbox` starts one bubblewrap container holding only the system's
``/usr``, the Python installation, the venv (all read-only), a private ``/proc``
and ``/dev``, a small ``/tmp`` and copies of ``zygote.py``, ``probe.py`` and
``wire.py``: no repository, no submissions, no network, no other process. In
it the zygote imports torch once and forks a child per submission (see
``zygote.py``). This side sends the module and the cases, enforces the wall
clock, kills the whole container when anything goes wrong and restarts it on
the next run, and reads back only ``wire`` blobs, which it checks before use.

Without a working ``bwrap`` (Docker's default seccomp profile, Ubuntu 24.04's
AppArmor) the same zygote runs as a plain process, its children as nobody when
the grader is root; each child confines itself with Landlock before the
submission's code runs, as it does under bubblewrap, and :func:`isolation`
says what holds and what does not.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import errno
import functools
import importlib.util
import io
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import weakref
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autograder import landlock, wire, zygote

STATUSES = ("ok", "error", "timeout", "memory", "output", "crashed")
START_TIMEOUT_S = 120.0
TMP_MB = 128  # the sandbox's /tmp, where each submission's working folder lives
MAX_MESSAGE_CHARS = 600
_MAX_HEADER_BYTES = 2**20
_MAX_ARRAYS = 100_000
_HERE = Path(__file__).resolve().parent
_REPO = _HERE.parent
_INSIDE_CODE = "/sandbox/code"
_CODE = ("zygote.py", "probe.py", "wire.py", "landlock.py")  # our modules, copied into the sandbox
# What a submission may read besides the Python installation, its packages and our code: the system's programs
# and libraries, the loader's configuration, the clock's zone and the random devices. It writes only its
# scratch folder (and /dev/null).
_SYSTEM_READABLE = (
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc/ld.so.cache", "/etc/ld.so.conf",
    "/etc/ld.so.conf.d", "/etc/localtime", "/dev/urandom", "/dev/random", "/dev/zero",
)  # fmt: skip
_INSIDE_VENV = "/sandbox/venv"
_SANDBOX_UID = 65534
_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONNOUSERSITE": "1",
    "NBGRADER_EXECUTION": "autograde",
    "MPLBACKEND": "Agg",
}
# The zygote's bootstrap: -I -S keeps the environment, the user's site and the
# venv's .pth hooks out; the paths come in the JSON config.
_BOOT = (
    "import json, sys; config = json.loads(sys.argv[1]); sys.path.insert(0, config['code']); "
    "sys.path.extend(config['site']); import zygote; zygote.main(config)"
)
# Raise the OOM killer's preference for everything in the sandbox, then exec.
_OOM_FIRST = ["/bin/sh", "-c", '{ echo 1000 > /proc/self/oom_score_adj; } 2>/dev/null; exec "$0" "$@"']
_UNCONFINED = (
    "submissions are NOT isolated because {reason} and {landlock}: each one runs as {who} with limits and a seccomp "
    "filter, and can read every file on this machine that {who} may read (the source notebook, hidden tests, other "
    "students' submissions, the gradebook) and write where {who} may; install bubblewrap (apt-get install "
    "bubblewrap) and allow user namespaces, or grade on a kernel with Landlock, before grading real submissions"
)
_DEGRADED = (
    "degraded isolation, because {reason}: each submission runs as {who} with limits and a seccomp filter, confined "
    "by Landlock (ABI {abi}) to reading the Python installation, its packages and the system's libraries and to "
    "writing its scratch folder, with no network{signals}"
)
_SIGNALS_OPEN = (
    "; this kernel's Landlock cannot keep it from signalling processes of {who} or reaching their abstract UNIX "
    "sockets (ABI 6 can)"
)


@dataclass(frozen=True)
class Outcome:
    """What running one submission came to; ``arrays`` and ``meta`` are the probe's, when ``ok``."""

    status: str  # one of STATUSES
    message: str  # one sentence for the student and instructor; "" when ok
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)


# The memory limit counts the sandbox's whole address space, torch and the notebook's imports included:
# about 620 MB (VmSize) before a submission runs, with torch 2.13's CPU build on Linux.
MIN_MEMORY_MB = 1024


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 60.0
    memory_mb: int = 2048
    output_kb: int = 1024


class SandboxError(OSError):
    """The sandbox itself could not be started: a problem of the grading machine, not of a submission."""


class _Deadline(Exception):
    pass


class _Broken(Exception):
    pass


# ---------------------------------------------------------------- where things are, inside and out


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


@dataclass(frozen=True)
class _Layout:
    """The Python installation this process runs on: where it is outside, and where it appears inside."""

    python: str  # the interpreter binary, outside
    base_prefix: str  # mounted at the same path (its binary may hold absolute library paths)
    prefix: str  # the venv, mounted at _INSIDE_VENV; equal to base_prefix without a venv
    site: tuple[str, ...]  # site-packages folders, outside

    def inside(self, path: str) -> str | None:
        """Where ``path`` appears in the sandbox, or None where it is not mounted."""
        if self.prefix != self.base_prefix and _under(path, self.prefix):
            return _INSIDE_VENV + path[len(self.prefix) :]
        if _under(path, self.base_prefix) or _under(path, "/usr"):
            return path
        return None


@functools.cache
def _layout() -> _Layout:
    base, prefix = os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)
    site = []
    for entry in sys.path:
        real = os.path.realpath(entry)
        if real.endswith(("site-packages", "dist-packages")) and os.path.isdir(real) and real not in site:
            site.append(real)
    return _Layout(os.path.realpath(sys.executable), base, prefix, tuple(site))


@functools.cache
def _bwrap_options(bwrap: str) -> frozenset[str]:
    """The options this bubblewrap knows (--disable-userns needs 0.8, --size 0.5)."""
    try:
        text = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return frozenset()
    return frozenset(word for word in text.split() if word.startswith("--"))


def _bwrap_argv(bwrap: str, private: Path) -> list[str]:
    """bubblewrap's options: new namespaces, and a read-only root holding only what the zygote needs."""
    layout, known = _layout(), _bwrap_options(bwrap)
    argv = [bwrap, "--unshare-all", "--unshare-user", "--uid", str(_SANDBOX_UID), "--gid", str(_SANDBOX_UID)]
    if "--disable-userns" in known:  # the zygote's seccomp filter refuses new namespaces too
        argv.append("--disable-userns")
    argv += ["--hostname", "sandbox", "--cap-drop", "ALL", "--die-with-parent", "--new-session", "--as-pid-1"]
    argv.append("--clearenv")
    for key, value in {**_ENV, "HOME": "/tmp", "TMPDIR": "/tmp"}.items():
        argv += ["--setenv", key, value]
    argv += ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = f"/{name}"
        if os.path.islink(path):
            argv += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            argv += ["--ro-bind", path, path]
    for path in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime"):
        argv += ["--ro-bind-try", path, path]
    argv += ["--ro-bind", str(private / "etc" / "passwd"), "/etc/passwd"]
    argv += ["--ro-bind", str(private / "etc" / "group"), "/etc/group"]
    if not _under(layout.base_prefix, "/usr"):
        argv += ["--ro-bind", layout.base_prefix, layout.base_prefix]
    if layout.prefix != layout.base_prefix:
        argv += ["--ro-bind", layout.prefix, _INSIDE_VENV]
    argv += ["--ro-bind", str(private / "code"), _INSIDE_CODE]
    argv += ["--proc", "/proc", "--remount-ro", "/proc", "--dev", "/dev", "--remount-ro", "/dev"]
    if "--size" in known:
        argv += ["--size", str(TMP_MB * 2**20)]
    argv += ["--tmpfs", "/tmp", "--chdir", "/tmp", "--remount-ro", "/"]
    return [*argv, "--"]


def _python_inside() -> str:
    python = _layout().inside(_layout().python)
    if python is None:
        raise SandboxError(f"the interpreter {_layout().python} is outside the folders the sandbox mounts")
    return python


def course_package() -> Path:
    """The folder of the ``course`` package the notebook imports: the assignment's own, which nbgrader releases
    with the notebook (``source/realnvp/course`` here, installed by ``pip install -e .``; ``course/`` in the
    Gradescope zip)."""
    spec = importlib.util.find_spec("course")
    if spec is None or spec.origin is None:
        raise SandboxError("the notebook's course package cannot be found: install this repository (pip install -e .)")
    return Path(spec.origin).parent


def _prepare(private: Path) -> None:
    """The files the sandbox sees: our four modules, the notebook's ``course`` package, and a passwd
    that names only root and nobody."""
    (private / "code").mkdir()
    for name in _CODE:
        (private / "code" / name).write_bytes((_HERE / name).read_bytes())
    (private / "code" / "course").mkdir()
    for module in course_package().glob("*.py"):
        (private / "code" / "course" / module.name).write_bytes(module.read_bytes())
    (private / "etc").mkdir()
    (private / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/tmp:/usr/sbin/nologin\n"
    )
    (private / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
    (private / "tmp").mkdir(mode=0o700)


# bubblewrap's --die-with-parent ties the sandbox to the *thread* that started
# it; starting every sandbox from this one long-lived thread keeps a sandbox
# alive when the thread that asked for it (a worker pool's, say) goes away.
_launcher = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-launcher")


def _spawn(argv: list[str], **options) -> subprocess.Popen:
    return _launcher.submit(subprocess.Popen, argv, **options).result()


@functools.cache
def isolation() -> str:
    """Empty when submissions run isolated under bubblewrap; otherwise a sentence that says what holds them
    instead (Landlock, in degraded mode) or, loudly, that nothing does."""
    reason = _bwrap_problem()
    if not reason:
        return ""
    who = f"nobody (uid {_SANDBOX_UID})" if os.geteuid() == 0 else "the grader's own user"
    abi = landlock.abi()
    if abi == 0:
        return _UNCONFINED.format(reason=reason, landlock=landlock.unavailable_reason(), who=who)
    signals = _SIGNALS_OPEN.format(who=who) if abi < 6 else ""
    return _DEGRADED.format(reason=reason, who=who, abi=abi, signals=signals)


def _bwrap_problem() -> str:
    """Why bubblewrap cannot isolate submissions here; empty when it can."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed"
    check = (
        "import os, sys\n"
        f"problems = [os.getuid() != {_SANDBOX_UID}, os.path.exists({str(_REPO)!r}), os.path.exists('/work'),\n"
        "            os.access('/proc/self/oom_score_adj', os.W_OK), os.access('/', os.W_OK)]\n"
        "sys.exit(1 if any(problems) else 0)\n"
    )
    with tempfile.TemporaryDirectory(prefix="realnvp-sandbox-check-") as folder:
        _prepare(Path(folder))
        try:
            argv = [*_bwrap_argv(bwrap, Path(folder)), _python_inside(), "-I", "-S", "-c", check]
            run = subprocess.run(argv, capture_output=True, text=True, timeout=60, env={"PATH": _ENV["PATH"]})
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"bubblewrap failed its self-test ({error})"
    if run.returncode != 0:
        detail = (run.stderr.strip().splitlines() or [f"exit status {run.returncode}"])[-1]
        return f"bubblewrap failed its self-test ({detail})"
    return ""


# ---------------------------------------------------------------- replies


def _check_payload(blob: bytes) -> tuple[str, str, dict[str, np.ndarray], dict]:
    """The child's payload as ``(status, message, arrays, probe meta)``; ValueError if it is anything else."""
    if not blob:
        raise ValueError("no result")
    try:  # stored (uncompressed) entries only, so reading cannot inflate past the reply's size
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
        raise ValueError(f"not an archive ({error})") from None
    if len(entries) > _MAX_ARRAYS or any(entry.compress_type != zipfile.ZIP_STORED for entry in entries):
        raise ValueError("compressed or too many entries")
    if sum(entry.file_size for entry in entries) > zygote.MAX_REPLY_BYTES:
        raise ValueError("too large")
    arrays, meta = wire.decode(blob)
    for name, array in arrays.items():
        if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf" or array.dtype.fields is not None:
            raise ValueError(f"{name!r} is not an array of real numbers")
    status, message = meta.get("status"), meta.get("message")
    if status not in zygote.CHILD_STATUSES or not isinstance(message, str):
        raise ValueError("no status")
    if status != "ok":
        return status, message, {}, {}
    probe = meta.get("probe")
    if not isinstance(probe, dict):
        raise ValueError("no observations")
    checked = {}
    for key in ("errors", "notes"):
        table = probe.get(key, {})
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
            raise ValueError(f"malformed {key}")
        checked[key] = {str(k): v[: 4 * MAX_MESSAGE_CHARS] for k, v in table.items()}
    return status, message, arrays, checked


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


# ---------------------------------------------------------------- the sandbox


def _read_log(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " / ".join(lines[-3:])[-500:]


class _Process:
    """One started container (or degraded zygote) and the grader's ends of its two pipes."""

    def __init__(self, process: subprocess.Popen, request: int, reply: int, isolated: bool) -> None:
        self.process, self.request, self.reply, self.isolated = process, request, reply, isolated

    def kill(self) -> None:
        """Kill everything in it, then the container (or degraded zygote) itself, and wait for all of it."""
        _kill_tree(self.process.pid)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        for fd in (self.request, self.reply):
            with contextlib.suppress(OSError):
                os.close(fd)


def _host_parents() -> dict[int, int]:
    """``{pid: parent}`` for the live (not zombie) processes on this machine."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        if fields[0] != b"Z":
            found[int(name)] = int(fields[1])
    return found


def _host_descendants(root: int, parents: dict[int, int]) -> set[int]:
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _kill_tree(root: int) -> None:
    """SIGKILL every live descendant of ``root``, until none is left (5 s at most).

    For the container that is its init, whose end empties the pid namespace.
    Each victim is held by a pidfd and still found under ``root`` after that,
    so a pid that was freed and reused in between is never signalled.
    """
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        victims = _host_descendants(root, _host_parents())
        if not victims:
            return
        held = {}
        for pid in victims:
            try:
                held[pid] = os.pidfd_open(pid)
            except OSError:
                continue
        still = _host_descendants(root, _host_parents())
        for pid, fd in held.items():
            try:
                if pid in still:
                    signal.pidfd_send_signal(fd, signal.SIGKILL)
            except OSError:
                pass
            finally:
                os.close(fd)
        time.sleep(0.005)


def _shutdown(state: dict) -> None:
    process = state.pop("process", None)
    if process is not None:
        process.kill()
    shutil.rmtree(state["dir"], ignore_errors=True)


class Sandbox:
    """One worker: a pre-started, isolated zygote that forks once per submission.

    Use it from one thread at a time (a pool gives each worker thread its own).
    """

    def __init__(self, limits: Limits = Limits(), isolated: bool | None = None) -> None:
        self.limits = limits
        self.isolated = isolation() == "" if isolated is None else isolated
        if self.isolated and shutil.which("bwrap") is None:
            raise SandboxError("bubblewrap (bwrap) is not installed: apt-get install bubblewrap")
        self._dir = Path(tempfile.mkdtemp(prefix="realnvp-sandbox-"))
        self._state: dict = {"dir": self._dir}
        self._finalizer = weakref.finalize(self, _shutdown, self._state)
        _prepare(self._dir)
        self.stats: dict = {"starts": 0, "runs": 0}
        self._start()

    # -- lifecycle

    def _start(self) -> None:
        layout = _layout()
        request_r, request_w = os.pipe()
        reply_r, reply_w = os.pipe()
        limits = {
            "timeout_s": self.limits.timeout_s,
            "memory_mb": self.limits.memory_mb,
            "output_bytes": self.limits.output_kb * 1024,
        }
        config: dict = {"request_fd": request_r, "reply_fd": reply_w, "isolated": self.isolated, "limits": limits}
        if self.isolated:
            inside = [layout.inside(path) for path in layout.site]
            config |= {"code": _INSIDE_CODE, "site": [p for p in inside if p], "tmp": "/tmp"}
            config["run_dir"] = "/tmp/submission"
            argv = [*_OOM_FIRST, *_bwrap_argv(shutil.which("bwrap") or "bwrap", self._dir), _python_inside()]
            env, cwd = {"PATH": _ENV["PATH"]}, "/"
        else:
            tmp = str(self._dir / "tmp")
            config |= {"code": str(self._dir / "code"), "site": list(layout.site), "tmp": tmp}
            config["run_dir"] = os.path.join(tmp, "submission")
            argv, env, cwd = [*_OOM_FIRST, layout.python], {**_ENV, "HOME": tmp, "TMPDIR": tmp}, tmp
        readable = [*_SYSTEM_READABLE, layout.base_prefix, *config["site"], config["code"]]
        config["landlock"] = {"read": readable, "write": [config["tmp"], "/dev/null"]}
        argv += ["-I", "-S", "-B", "-c", _BOOT, json.dumps(config)]
        log_path = self._dir / "sandbox.log"
        started = time.monotonic()
        with open(log_path, "ab") as log:
            try:
                process = _spawn(
                    argv,
                    pass_fds=(request_r, reply_w),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                    start_new_session=True,
                    env=env,
                    cwd=cwd,
                )
            finally:
                os.close(request_r)
                os.close(reply_w)
        os.set_blocking(request_w, False)
        os.set_blocking(reply_r, False)
        self._state["process"] = _Process(process, request_w, reply_r, self.isolated)
        try:
            ready = wire.decode(self._read_frame(time.monotonic() + START_TIMEOUT_S, _MAX_HEADER_BYTES))[1]
        except (_Deadline, _Broken, ValueError) as error:
            self._stop()
            raise SandboxError(f"the sandbox did not start ({error}): {_read_log(log_path)}") from None
        self.stats["starts"] += 1
        self.stats["startup_s"] = round(time.monotonic() - started, 3)
        self.stats["seccomp"] = ready.get("seccomp")
        self.stats["landlock"] = ready.get("landlock")
        self.stats["startup_cpu_s"] = ready.get("startup_cpu_s")
        self.stats["zygote_rss_mb"] = ready.get("rss_mb")

    def _stop(self) -> None:
        process = self._state.pop("process", None)
        if process is not None:
            process.kill()

    def close(self) -> None:
        """Kill the sandbox and remove its files; the object cannot run anything afterwards."""
        self._finalizer()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- pipes

    def _write(self, data: bytes, deadline: float) -> None:
        fd = self._state["process"].request
        view = memoryview(data)
        while view:
            self._wait(fd, select.POLLOUT, deadline)
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                continue
            except OSError as error:  # EPIPE: the zygote is gone
                raise _Broken(f"the sandbox stopped reading ({errno.errorcode.get(error.errno, error)})") from None

    def _read_exact(self, size: int, deadline: float) -> bytes:
        fd = self._state["process"].reply
        chunks, left = [], size
        while left:
            self._wait(fd, select.POLLIN, deadline)
            try:
                chunk = os.read(fd, min(left, 1 << 20))
            except BlockingIOError:
                continue
            if not chunk:
                raise _Broken("the sandbox process ended")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _read_frame(self, deadline: float, limit: int) -> bytes:
        (size,) = zygote.FRAME.unpack(self._read_exact(zygote.FRAME.size, deadline))
        if size > limit:
            raise _Broken(f"the sandbox announced a {size}-byte reply")
        return self._read_exact(size, deadline)

    @staticmethod
    def _wait(fd: int, event: int, deadline: float) -> None:
        poller = select.poll()
        poller.register(fd, event)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Deadline()
            if poller.poll(min(left, 1.0) * 1000):
                return

    # -- running

    def run(self, module_source: str, cases_blob: bytes) -> Outcome:
        """Execute ``module_source``, then the probe on ``cases_blob``; never raises for the submission's faults."""
        if not self._finalizer.alive:
            raise RuntimeError("this Sandbox is closed")
        source = module_source.encode("utf-8", errors="replace")
        request = zygote.FRAME.pack(len(source)) + source + zygote.FRAME.pack(len(cases_blob)) + cases_blob
        self.stats["runs"] += 1
        for attempt in (1, 2):
            if "process" not in self._state:
                self._start()
            deadline = time.monotonic() + self.limits.timeout_s
            try:
                self._write(request, deadline)
                break
            except _Broken:  # it died between submissions: nothing of this one ran yet
                self._stop()
                if attempt == 2:
                    raise SandboxError("the sandbox keeps dying before it reads a submission") from None
            except _Deadline:
                self._stop()
                return Outcome("timeout", self._timeout_message())
        try:
            header = self._read_frame(deadline, _MAX_HEADER_BYTES)
            payload = self._read_frame(deadline, zygote.MAX_REPLY_BYTES + _MAX_HEADER_BYTES)
        except _Deadline:
            self._stop()
            return Outcome("timeout", self._timeout_message())
        except _Broken as error:
            self._stop()
            return Outcome("crashed", f"the process running your notebook's code was killed or died ({error})")
        outcome, clean = self._outcome(header, payload)
        if not clean:
            self._stop()  # the zygote exits when it cannot clean up; the next run starts afresh
        return outcome

    def _timeout_message(self) -> str:
        return f"your notebook's code ran for more than {self.limits.timeout_s:g} s and was stopped"

    def _outcome(self, header_blob: bytes, payload: bytes) -> tuple[Outcome, bool]:
        try:
            header = wire.decode(header_blob)[1]
            code, number = header.get("exit_code"), header.get("signal")
            output, clean = int(header["output_bytes"]), header.get("clean") is True
        except (ValueError, KeyError, TypeError):
            return Outcome("crashed", "the sandbox sent back a malformed reply"), False
        keys = ("seconds", "child_cpu_s", "child_max_rss_mb", "zygote_rss_mb")
        self.stats["last"] = {key: header.get(key) for key in keys}
        memory = f"your notebook's code used more than the {self.limits.memory_mb} MB of memory it may use"
        printed = f"your notebook's code printed more than {self.limits.output_kb} KB"
        if header.get("reply_too_large"):
            mb = zygote.MAX_REPLY_BYTES // 2**20
            return Outcome("crashed", f"your notebook's code sent back more than {mb} MB of results"), clean
        if header.get("too_many_processes"):
            many = f"your notebook's code started more than {zygote.MAX_PROCESSES} processes and was stopped"
            return Outcome("crashed", many), clean
        if header.get("too_much_disk"):
            mb, files = zygote.MAX_SCRATCH_BYTES // 2**20, zygote.MAX_SCRATCH_ENTRIES
            disk = f"your notebook's code wrote more than {mb} MB or {files:,} files and was stopped"
            return Outcome("output", disk), clean
        if output > self.limits.output_kb * 1024 or number == signal.SIGXFSZ:
            return Outcome("output", printed), clean
        if number == signal.SIGXCPU:
            return Outcome("timeout", self._timeout_message()), clean
        try:
            status, message, arrays, meta = _check_payload(payload)
        except ValueError as error:
            malformed = str(error)
        else:
            message = message[:MAX_MESSAGE_CHARS]
            texts = {"ok": "", "error": message, "memory": f"{memory} ({message})", "output": printed}
            return Outcome(status, texts[status][:MAX_MESSAGE_CHARS], arrays, meta), clean
        if number == signal.SIGKILL:
            return Outcome("memory", f"{memory} (it was killed)"), clean
        if number is not None:
            crashed = f"the process running your notebook's code crashed ({_signal_name(number)})"
        elif payload:
            crashed = f"your notebook's code sent back a malformed result ({malformed})"
        else:
            crashed = f"your notebook's code ended its process (exit status {code}) before returning a result"
        return Outcome("crashed", crashed), clean
