"""The sandbox's resident process: torch imported once, one forked child per submission.

This file runs inside the sandbox, next to copies of ``probe.py``, ``wire.py`` and
``landlock.py``; it imports only the standard library (and ``landlock``, which does
too) until :func:`main` has locked itself down, then numpy, torch and the other two.
``sandbox.py`` imports it for the frame format and the child's statuses, and the
tests' Docker-like wrapper for its seccomp assembler.

Processes, inside bubblewrap's pid namespace::

    pid 1  init     reaps the zygote and exits with it, which ends the namespace
    pid 2  zygote   imports torch, serves requests, cleans up after each one
    pid N  child    one per submission: limits, Landlock, the student's module, the probe

The grader writes a request (two frames: module source, cases) to the request
pipe; the zygote answers with two frames on the reply pipe: a header it writes
itself (how the child ended, how much it printed, whether cleanup succeeded)
and the child's payload, forwarded unread. A frame is an 8-byte big-endian
length, then that many bytes; headers and payloads are ``wire`` blobs.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import gc
import json
import os
import platform
import resource
import select
import signal
import struct
import sys
import time
from dataclasses import dataclass

FRAME = struct.Struct(">Q")
# What the child can report about itself; the grader decides the rest.
CHILD_STATUSES = ("ok", "error", "memory", "output")
MAX_REPLY_BYTES = 64 * 2**20
# Processes one submission may have at once (watched by the zygote), and tasks
# (threads count) for RLIMIT_NPROC, which binds only where the sandbox's user is
# not root outside: fork-bomb backstops.
MAX_PROCESSES = 64
MAX_TASKS = 256
MAX_OPEN_FILES = 1024
# What a submission may keep in its scratch folder, watched by the zygote: in degraded mode the folder is on the
# machine's own disk (bubblewrap's tmpfs has a size of its own, twice this).
MAX_SCRATCH_BYTES = 64 * 2**20
MAX_SCRATCH_ENTRIES = 10_000
# Imported by the zygote when installed, as the notebook's first cell does: matplotlib
# builds its font cache on first import, seconds that every submission would otherwise pay.
PRELOADED = ("torch.optim", "matplotlib.pyplot", "tqdm", "course.recipes", "course.evaluation")
_CHILD_FD = 3  # where the child finds its reply pipe
_NOBODY = 65534
_INTERNAL_ERROR = 70
# Set once, before any submission runs: True only for pid 2 under our own pid 1,
# the one place where kill(-1) reaches nothing but the sandbox.
_own_pid_namespace = False
_reaped: dict[int, tuple[int, resource.struct_rusage]] = {}  # wait statuses collected by _reap


# ---------------------------------------------------------------- frames


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_frame(fd: int, payload: bytes) -> None:
    write_all(fd, FRAME.pack(len(payload)) + payload)


def _read_exact(fd: int, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd: int) -> bytes | None:
    head = _read_exact(fd, FRAME.size)
    if head is None:
        return None
    return _read_exact(fd, FRAME.unpack(head)[0])


# ---------------------------------------------------------------- process hardening

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_DUMPABLE, _PR_SET_CHILD_SUBREAPER, _PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP = 4, 36, 38, 22


def _prctl(option: int, *args: object) -> None:
    values = [ctypes.c_ulong(a) if isinstance(a, int) else a for a in (option, *args, 0, 0, 0, 0)[:5]]
    if _libc.prctl(*values) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


def _close_fds_except(keep: set[int]) -> None:
    fds = sorted(int(name) for name in os.listdir("/proc/self/fd") if int(name) not in keep)
    for fd in fds:
        with contextlib.suppress(OSError):  # the listing's own fd, already gone
            os.close(fd)


# Seccomp: syscalls a RealNVP submission never needs and that reach outside
# the submission (other processes' memory, kernel keyrings, SysV/POSIX IPC that
# outlives a process, new namespaces, mounts, io_uring, BPF). They fail with
# EPERM; so does socket() for every family (a connected pair of sockets, socketpair(),
# still works; a UNIX socket's path is beyond Landlock); clone3 reports ENOSYS so that libc
# falls back to clone, whose namespace flags are checked. Other architectures
# run without the filter (the grader's README says so).
SECCOMP_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
DENIED = {
    "x86_64": {
        "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "pidfd_getfd": 438, "kcmp": 312,
        "keyctl": 250, "add_key": 248, "request_key": 249, "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
        "shmget": 29, "shmat": 30, "shmctl": 31, "msgget": 68, "msgsnd": 69, "msgrcv": 70, "msgctl": 71,
        "semget": 64, "semop": 65, "semctl": 66, "semtimedop": 220, "mq_open": 240, "mq_unlink": 241,
        "mq_timedsend": 242, "mq_timedreceive": 243, "mq_notify": 244, "mq_getsetattr": 245,
        "unshare": 272, "setns": 308, "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161,
        "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
        "mount_setattr": 442, "name_to_handle_at": 303, "open_by_handle_at": 304,
        "kexec_load": 246, "kexec_file_load": 320, "init_module": 175, "finit_module": 313, "delete_module": 176,
        "reboot": 169, "swapon": 167, "swapoff": 168, "acct": 163, "syslog": 103, "quotactl": 179,
        "iopl": 172, "ioperm": 173, "socket": 41,
    },
    "aarch64": {
        "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "pidfd_getfd": 438, "kcmp": 272,
        "keyctl": 219, "add_key": 217, "request_key": 218, "bpf": 280, "perf_event_open": 241, "userfaultfd": 282,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
        "shmget": 194, "shmat": 196, "shmctl": 195, "msgget": 186, "msgsnd": 189, "msgrcv": 188, "msgctl": 187,
        "semget": 190, "semop": 193, "semctl": 191, "semtimedop": 192, "mq_open": 180, "mq_unlink": 181,
        "mq_timedsend": 182, "mq_timedreceive": 183, "mq_notify": 184, "mq_getsetattr": 185,
        "unshare": 97, "setns": 268, "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51,
        "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
        "mount_setattr": 442, "name_to_handle_at": 264, "open_by_handle_at": 265,
        "kexec_load": 104, "kexec_file_load": 294, "init_module": 105, "finit_module": 273, "delete_module": 106,
        "reboot": 142, "swapon": 224, "swapoff": 225, "acct": 89, "syslog": 116, "quotactl": 60, "socket": 198,
    },
}  # fmt: skip
CLONE = {"x86_64": 56, "aarch64": 220}
CLONE3 = 435
NAMESPACE_FLAGS = 0x7E020080  # CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWTIME


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


# Classic BPF: load a word of seccomp_data, jump on =, >=, & and return an action.
LD, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
ALLOW, KILL = 0x7FFF0000, 0x80000000
EPERM, ENOSYS = 0x00050000 | errno.EPERM, 0x00050000 | errno.ENOSYS  # SECCOMP_RET_ERRNO


def arch_check(machine: str) -> list[tuple[int, int, int, int]]:
    """The filter's first instructions: kill a call of another architecture, then load the call's number."""
    return [(LD, 0, 0, 4), (JEQ, 1, 0, SECCOMP_ARCH[machine]), (RET, 0, 0, KILL), (LD, 0, 0, 0)]


def seccomp_program(machine: str) -> list[tuple[int, int | str, int | str, int]] | None:
    """The filter as ``(code, jump-if-true, jump-if-false, k)``, with labels' names (``(name, None, None, None)``
    entries) where jumps go; :func:`assemble` turns it into instructions."""
    if machine not in SECCOMP_ARCH:
        return None
    program: list = arch_check(machine)
    if machine == "x86_64":
        program.append((JGE, "deny", 0, 0x40000000))  # the x32 ABI
    program += [(JEQ, "deny", 0, number) for number in DENIED[machine].values()]
    program += [
        (JEQ, "enosys", 0, CLONE3),
        (JEQ, "clone", 0, CLONE[machine]),
        (RET, 0, 0, ALLOW),
        ("clone", None, None, None),
        (LD, 0, 0, 16),  # low word of the first argument: clone's flags
        (JSET, "deny", 0, NAMESPACE_FLAGS),
        (RET, 0, 0, ALLOW),
        ("deny", None, None, None),
        (RET, 0, 0, EPERM),
        ("enosys", None, None, None),
        (RET, 0, 0, ENOSYS),
    ]
    return program


def assemble(program: list) -> list[tuple[int, int, int, int]]:
    """Instructions with every jump to a label replaced by its offset."""
    labels, instructions = {}, []
    for entry in program:
        if entry[1] is None:
            labels[entry[0]] = len(instructions)
        else:
            instructions.append(entry)

    def offset(target: int | str, index: int) -> int:
        return target if isinstance(target, int) else labels[target] - index - 1

    return [(code, offset(jt, i), offset(jf, i), k) for i, (code, jt, jf, k) in enumerate(instructions)]


def install_filter(program: list, no_new_privs: bool = True) -> None:
    """Install ``program`` as this thread's seccomp filter, inherited by everything it starts or runs.

    Without ``no_new_privs``, only a process with CAP_SYS_ADMIN may install one (as a container runtime does).
    """
    instructions = assemble(program)
    filters = (_SockFilter * len(instructions))(*[_SockFilter(*instruction) for instruction in instructions])
    fprog = _SockFprog(len(instructions), filters)
    if no_new_privs:
        _prctl(_PR_SET_NO_NEW_PRIVS, 1)
    _prctl(_PR_SET_SECCOMP, 2, ctypes.pointer(fprog))  # SECCOMP_MODE_FILTER


def _install_seccomp() -> bool:
    program = seccomp_program(platform.machine())
    if program is None:
        return False
    install_filter(program)
    return True


# ---------------------------------------------------------------- Landlock

# The Landlock ABI the children are confined with; 0 where the kernel (or a seccomp filter around us) has none.
_landlock_abi = 0


def _confine(paths: dict) -> None:
    """Landlock for this process and all it starts, or exit before any student code runs."""
    import landlock

    try:
        landlock.restrict(paths["read"], paths["write"])
    except OSError as error:
        print(f"zygote: Landlock refused the rules ({error})", file=sys.stderr, flush=True)
        os._exit(_INTERNAL_ERROR)


def _check_landlock(paths: dict) -> int:
    """The ABI children get: 0 without Landlock; exits the zygote if the rules cannot be applied."""
    import landlock

    version = landlock.abi()
    if version == 0:
        return 0
    pid = os.fork()
    if pid == 0:
        _confine(paths)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        sys.exit("zygote: a child could not be confined with Landlock")
    return version


# ---------------------------------------------------------------- the child


# Monkeypatching in the child: what the probe and the reply need is put back
# after the student's module has run and again before the reply is encoded, so
# that replacing ``isinstance`` or ``numpy.savez`` does not turn a wrong answer
# into a crash. (It cannot change a verdict: those are made outside.) Only
# replaced callables are restored; attributes the student adds stay.
_GUARDED_MODULES = ("builtins", "numpy", "json", "io", "zipfile", "struct", "os", "probe", "wire", "torch")
_pristine: list[tuple[object, dict]] = []


def _snapshot() -> None:
    import torch

    owners: list[object] = [torch.Tensor, torch.nn.Module]
    for name, module in list(sys.modules.items()):
        if name in _GUARDED_MODULES or (name.split(".")[0] in ("numpy", "json") and module is not None):
            owners.append(module)
    for owner in owners:
        _pristine.append((owner, {k: v for k, v in vars(owner).items() if callable(v)}))


def _restore() -> None:
    for owner, callables in _pristine:
        current = vars(owner)
        for key, value in callables.items():
            if current.get(key) is not value:
                with contextlib.suppress(Exception):
                    setattr(owner, key, value)


def _failure(error: BaseException, prefix: str) -> dict:
    import probe

    _restore()
    detail = probe.describe_error(error)
    if not str(error):
        detail = detail.replace(": (in ", " (in ", 1)
    if probe.is_out_of_memory(error):
        return {"status": "memory", "message": detail}
    if isinstance(error, OSError) and error.errno == errno.EFBIG:
        return {"status": "output", "message": detail}
    return {"status": "error", "message": prefix + detail}


def _submission_result(source: str, cases: tuple[dict, dict]) -> bytes:
    """Run the module, then the probe; the reply payload, whatever the student's code does."""
    import builtins

    import probe
    import wire

    arrays, meta = cases
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    try:
        exec(compile(source, "submission.py", "exec"), namespace)
    except BaseException as error:  # anything at top level, SystemExit and KeyboardInterrupt included
        return wire.encode({}, _failure(error, "your notebook's code raised "))
    _restore()
    try:
        observed, observed_meta = probe.observe(namespace, arrays, meta)
    except BaseException as error:  # the student's code broke the probe itself
        return wire.encode({}, _failure(error, "your classes could not be run: "))
    _restore()
    return wire.encode(observed, {"status": "ok", "message": "", "probe": observed_meta})


def _child(source: str, cases: tuple[dict, dict], reply_fd: int, run_dir: str, config: dict) -> None:
    """In the forked child: drop the zygote's fds, apply the limits and Landlock, run, reply, exit."""
    limits, confinement = config["limits"], config["landlock"] if _landlock_abi else None
    if reply_fd != _CHILD_FD:
        os.dup2(reply_fd, _CHILD_FD)
    _close_fds_except({0, 1, 2, _CHILD_FD})
    os.chdir(run_dir)
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    with open("submission.py", "w", encoding="utf-8") as handle:
        handle.write(source)
    output = os.open("output.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(output)
    memory = limits["memory_mb"] * 2**20
    cpu = int(limits["timeout_s"]) + 2
    settings = [
        (resource.RLIMIT_AS, (memory, memory)),
        (resource.RLIMIT_FSIZE, (limits["output_bytes"] + 1,) * 2),
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_CORE, (0, 0)),
        (resource.RLIMIT_NOFILE, (MAX_OPEN_FILES, MAX_OPEN_FILES)),
    ]
    if _own_pid_namespace:  # counted per user namespace there; outside, it would count the user's other processes
        settings.append((resource.RLIMIT_NPROC, (MAX_TASKS, MAX_TASKS)))
    for kind, value in settings:
        resource.setrlimit(kind, value)
    if confinement is not None:  # before the uid changes: the rules name folders only root may enter
        _confine(confinement)
    if not _own_pid_namespace and os.geteuid() == 0:
        # Degraded mode under root: not root either. Files only root may read stay
        # closed, and so do modules the zygote has not imported from such folders.
        os.chown(".", _NOBODY, _NOBODY)
        os.setgroups([])
        os.setgid(_NOBODY)
        os.setuid(_NOBODY)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        payload = _submission_result(source, cases)
    except BaseException as error:  # e.g. the student's object could not be encoded
        import wire

        try:
            payload = wire.encode({}, _failure(error, "your classes' results could not be sent back: "))
        except BaseException:
            os._exit(_INTERNAL_ERROR)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):  # the output limit, most likely; the zygote measures the file
            stream.flush()
    write_all(_CHILD_FD, payload)
    os._exit(0)


# ---------------------------------------------------------------- the zygote


@dataclass
class _Collected:
    payload: bytes = b""
    status: int = 0
    too_large: bool = False  # the child sent more than MAX_REPLY_BYTES
    too_many: bool = False  # the submission had more than MAX_PROCESSES processes at once
    too_much_disk: bool = False  # its scratch folder held more than MAX_SCRATCH_BYTES or MAX_SCRATCH_ENTRIES
    max_rss_mb: float = 0.0
    cpu_s: float = 0.0


def _process_count() -> int:
    """Processes of the submission now: all but init and us in our namespace, else our descendants."""
    if _own_pid_namespace:
        return len(_pids()) - 2
    return len(_descendants(os.getpid()))


def _collect(reply_fd: int, pid: int, scratch: str) -> _Collected:
    """Read the child's payload until it exits, counting the submission's processes and weighing its scratch
    folder meanwhile.

    RLIMIT_NPROC does not bind a user that is root outside the sandbox, and in degraded mode the scratch folder
    is on the machine's disk, so both are watched here: past MAX_PROCESSES or the scratch quota, everything is
    killed.
    """
    result = _Collected()
    chunks: list[bytes] = []
    size, reply_open, exit_fd = 0, True, None
    poller = select.poll()
    poller.register(reply_fd, select.POLLIN)
    with contextlib.suppress(OSError):  # wakes us the moment the child exits (Linux 5.3+)
        exit_fd = os.pidfd_open(pid)
        poller.register(exit_fd, select.POLLIN)
    tick = 0.02 if _own_pid_namespace else 0.2  # degraded mode scans the whole machine's /proc
    counted = time.monotonic()
    while True:
        events = poller.poll(tick * 1000)
        if any(fd == reply_fd for fd, _ in events) and reply_open:
            chunk = os.read(reply_fd, 1 << 16)
            if not chunk:
                poller.unregister(reply_fd)
                reply_open = False
            elif not result.too_large:
                size += len(chunk)
                if size > MAX_REPLY_BYTES:
                    result.too_large = True
                    chunks.clear()
                    os.kill(pid, signal.SIGKILL)
                else:
                    chunks.append(chunk)
        if pid in _reaped:  # reaped while killing everything
            status, usage = _reaped.pop(pid)
            break
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if not (result.too_many or result.too_much_disk) and time.monotonic() - counted >= tick:
            counted = time.monotonic()
            result.too_many = _process_count() > MAX_PROCESSES
            result.too_much_disk = _over_quota(scratch)
            if result.too_many or result.too_much_disk:
                _kill_everything_else()
    if exit_fd is not None:
        os.close(exit_fd)
    os.set_blocking(reply_fd, False)
    while reply_open and not result.too_large:  # what the child wrote just before it exited
        try:
            chunk = os.read(reply_fd, 1 << 16)
        except BlockingIOError:
            break
        if not chunk:
            break
        size += len(chunk)
        result.too_large = size > MAX_REPLY_BYTES
        chunks.append(chunk)
    result.payload = b"" if result.too_large else b"".join(chunks)
    result.status, result.max_rss_mb = status, usage.ru_maxrss / 1024
    result.cpu_s = usage.ru_utime + usage.ru_stime
    return result


def _over_quota(folder: str) -> bool:
    """Whether ``folder`` holds more than MAX_SCRATCH_BYTES or MAX_SCRATCH_ENTRIES (counting stops there)."""
    size, entries, pending = 0, 0, [folder]
    while pending:
        try:
            with os.scandir(pending.pop()) as listing:
                for entry in listing:
                    entries += 1
                    with contextlib.suppress(OSError):
                        if entry.is_dir(follow_symlinks=False):
                            pending.append(entry.path)
                        else:
                            size += entry.stat(follow_symlinks=False).st_blocks * 512
                    if size > MAX_SCRATCH_BYTES or entries > MAX_SCRATCH_ENTRIES:
                        return True
        except OSError:  # a folder the submission made unreadable: its content is weighed after the run
            continue
    return False


def _pids() -> set[int]:
    return {int(name) for name in os.listdir("/proc") if name.isdigit()}


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    return int(stat[stat.rindex(b")") + 2 :].split()[1])


def _descendants(root: int) -> set[int]:
    parents = {pid: _parent_of(pid) for pid in _pids()}
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _reap() -> None:
    while True:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _reaped[pid] = (status, usage)


def _kill_everything_else() -> bool:
    """Kill every process the submission left; True once none is left."""
    me = os.getpid()
    for _ in range(200):
        if _own_pid_namespace:
            # In the sandbox's own pid namespace: everyone but us and init.
            with contextlib.suppress(ProcessLookupError):
                os.kill(-1, signal.SIGKILL)
            leftover = _pids() - {1, me}
        else:
            # Degraded mode shares the machine: only our descendants (we are their subreaper),
            # each held by a pidfd and found again under us, so that no reused pid is hit.
            leftover = _descendants(me)
            held = {}
            for pid in leftover:
                with contextlib.suppress(OSError):
                    held[pid] = os.pidfd_open(pid)
            still = _descendants(me)
            for pid, fd in held.items():
                with contextlib.suppress(OSError):
                    if pid in still:
                        signal.pidfd_send_signal(fd, signal.SIGKILL)
                os.close(fd)
        _reap()
        if not leftover:
            return True
        time.sleep(0.005)
    return False


def _empty(path: str) -> None:
    """Remove everything inside ``path``, whatever permissions the submission set."""
    os.chmod(path, 0o700)
    with os.scandir(path) as entries:
        for entry in list(entries):
            if entry.is_dir(follow_symlinks=False):
                _empty(entry.path)
                os.rmdir(entry.path)
            else:
                os.unlink(entry.path)


def _serve(source: str, cases_blob: bytes, config: dict) -> tuple[bytes, bool, bytes]:
    """One submission, start to clean slate: the header frame, whether all is clean, the payload frame."""
    import wire

    started = time.monotonic()
    cases = wire.decode(cases_blob)  # once, here: the grader's own bytes
    run_dir = config["run_dir"]
    if os.path.lexists(run_dir):  # degraded mode, after a zygote was killed mid-run
        _empty(config["tmp"])
    os.mkdir(run_dir, 0o700)
    reply_r, reply_w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(reply_r)
            _child(source, cases, reply_w, run_dir, config)
        finally:
            os._exit(_INTERNAL_ERROR)
    os.close(reply_w)
    collected = _collect(reply_r, pid, config["tmp"])
    status = collected.status
    try:
        output_bytes = os.lstat(os.path.join(run_dir, "output.txt")).st_size
    except OSError:
        output_bytes = 0
    clean = _kill_everything_else()
    _reaped.clear()
    collected.too_much_disk = collected.too_much_disk or _over_quota(config["tmp"])
    os.close(reply_r)
    try:
        _empty(config["tmp"])
    except (OSError, RecursionError):
        clean = False
    header = {
        "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "output_bytes": output_bytes,
        "reply_too_large": collected.too_large,
        "too_many_processes": collected.too_many,
        "too_much_disk": collected.too_much_disk,
        "clean": clean,
        "child_max_rss_mb": round(collected.max_rss_mb, 1),
        "child_cpu_s": round(collected.cpu_s, 4),
        "zygote_rss_mb": _rss_mb(),
        "seconds": round(time.monotonic() - started, 4),
    }
    return wire.encode({}, header), clean, collected.payload


def _rss_mb() -> dict[str, float]:
    values = {}
    with open("/proc/self/status") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = round(int(value.split()[0]) / 1024, 1)
    return values


def _init(zygote: int, isolated: bool) -> None:
    """The zygote's parent: reap, and when the zygote ends, end too, after its leftovers.

    As pid 1 of the sandbox, exiting ends the pid namespace and every process in
    it. In degraded mode it is the subreaper that the zygote's orphans come back to.
    """
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(_INTERNAL_ERROR)
        if pid == zygote:
            break
    if not isolated:
        _kill_everything_else()
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))


def main(config: dict) -> None:
    """Lock down, import torch, then serve requests until the grader closes the request pipe."""
    global _own_pid_namespace, _landlock_abi
    started = time.monotonic()
    request_fd, reply_fd = config["request_fd"], config["reply_fd"]
    if config["isolated"] and os.getpid() != 1:
        sys.exit("zygote: isolated mode needs to start as pid 1 of a new pid namespace (bwrap --as-pid-1)")
    _close_fds_except({0, 1, 2, request_fd, reply_fd})
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _prctl(_PR_SET_DUMPABLE, 0)  # no ptrace, no /proc/<pid>/mem or fd/ for the children
    try:
        seccomp = _install_seccomp()
    except OSError as error:  # a kernel without seccomp filters: run on, and say so in the stats
        print(f"zygote: no seccomp filter ({error})", file=sys.stderr)
        seccomp = False
    # A parent process that lives as long as the zygote: pid 1 in the sandbox
    # (so a submission that kills the zygote ends the namespace with it), the
    # subreaper that outlives it in degraded mode.
    zygote = os.fork()
    if zygote:
        os.close(request_fd)
        os.close(reply_fd)
        if not config["isolated"]:
            _prctl(_PR_SET_CHILD_SUBREAPER, 1)
        _init(zygote, config["isolated"])
    _own_pid_namespace = config["isolated"] and os.getpid() == 2 and os.getppid() == 1
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)  # orphaned grandchildren come back to us, to be killed
    _landlock_abi = _check_landlock(config["landlock"])

    import numpy
    import torch

    torch.set_num_threads(1)
    layer = torch.nn.Linear(2, 2)
    layer(torch.zeros(1, 2, requires_grad=True)).sum().backward()  # first-call work, done once
    for name in PRELOADED:  # what notebooks import at the top: once here, not once per submission
        with contextlib.suppress(Exception):
            __import__(name)
    import probe  # noqa: F401
    import wire

    wire.decode(wire.encode({"x": numpy.zeros(1)}, {}))  # imports what the reply needs (zipfile's codec)
    _snapshot()
    gc.freeze()  # the collector leaves these objects alone, so children do not copy their pages
    ready = {
        "ready": True,
        "seccomp": seccomp,
        "landlock": _landlock_abi,
        "startup_s": round(time.monotonic() - started, 3),
        "pid": os.getpid(),
    }
    ready["rss_mb"] = _rss_mb()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    ready["startup_cpu_s"] = round(usage.ru_utime + usage.ru_stime, 3)
    write_frame(reply_fd, wire.encode({}, ready))
    while True:
        source = _read_frame(request_fd)
        cases_blob = _read_frame(request_fd) if source is not None else None
        if cases_blob is None:
            return
        header, clean, payload = _serve(source.decode("utf-8", errors="replace"), cases_blob, config)
        write_frame(reply_fd, header)
        write_frame(reply_fd, payload)
        if not clean:
            os._exit(3)  # the grader starts a fresh sandbox


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
