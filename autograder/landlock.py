"""Landlock, the kernel's unprivileged access control, over ctypes: a process confines itself and its children.

The zygote's child calls :func:`restrict` just before a submission's code runs: from then on it, and every
process it starts, may read (and execute) only beneath the folders it names, write only beneath the scratch
folder, open no TCP connection and bind no TCP port (ABI 4 and later), and neither signal nor reach the abstract
UNIX sockets of any process outside (ABI 6 and later). Nothing needs privileges, a user namespace or a mount, so
it holds where bubblewrap cannot start (Docker's default seccomp profile allows these three calls).

Written here rather than taken from PyPI: the ``landlock`` package there is an alpha, and the whole interface is
three system calls and two structures. The module imports only the standard library: it is copied into the
sandbox beside ``zygote.py``. The kernel's interface: https://docs.kernel.org/userspace-api/landlock.html
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
from collections.abc import Iterable

# The same numbers on every architecture (they were added after the system-call tables were unified).
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

# File-system rights, by the ABI that introduced them.
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_MAKE_AND_REMOVE = sum(1 << bit for bit in range(4, 13))  # remove dir/file, make char/dir/reg/sock/fifo/block/sym
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_FS_RIGHTS = {1: EXECUTE | WRITE_FILE | READ_FILE | READ_DIR | _MAKE_AND_REMOVE, 2: REFER, 3: TRUNCATE, 5: IOCTL_DEV}
# Rights that make sense on a file rather than a folder: a rule on a file may hold only these.
_FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
READ = EXECUTE | READ_FILE | READ_DIR
# Network rights (ABI 4): with no rule that allows a port, every TCP bind and connect is refused.
_BIND_TCP, _CONNECT_TCP = 1 << 0, 1 << 1
# Scopes (ABI 6): no signal to, and no abstract UNIX socket of, a process outside the domain.
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _syscall(number: int, *args: object) -> int:
    result = _libc.syscall(ctypes.c_long(number), *args)
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    return result


def _probe() -> int | OSError:
    try:
        return _syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    except OSError as error:
        return error


def abi() -> int:
    """The Landlock ABI version this kernel offers to this process; 0 where it has none."""
    version = _probe()
    return version if isinstance(version, int) else 0


def unavailable_reason() -> str:
    """Why :func:`abi` is 0, in words; empty when Landlock is there."""
    error = _probe()
    if isinstance(error, int):
        return ""
    return {
        errno.ENOSYS: "this kernel has no Landlock (Linux 5.13 or later with CONFIG_SECURITY_LANDLOCK)",
        errno.EOPNOTSUPP: "Landlock is built into this kernel but off (add landlock to the lsm= boot option)",
        errno.EPERM: "a seccomp filter refuses Landlock's system calls (Docker before 20.10.18 does)",
    }.get(error.errno, f"landlock_create_ruleset failed ({error})")


def fs_rights(version: int) -> int:
    """Every file-system right that ABI ``version`` knows."""
    return sum(rights for since, rights in _FS_RIGHTS.items() if version >= since)


def restrict(readable: Iterable[str], writable: Iterable[str]) -> int:
    """Confine this process (and what it starts later) to read beneath ``readable`` and read and write beneath
    ``writable``, with no TCP and, where the kernel can, no signal or abstract socket reaching outside.

    Paths that do not exist, or that this process cannot reach, are left out. Returns the ABI enforced; raises
    OSError when the kernel has no Landlock or refuses the rules, so that a caller never runs code it believes
    confined when it is not.
    """
    version = abi()
    if version == 0:
        raise OSError(errno.ENOSYS, unavailable_reason())
    handled = fs_rights(version)
    attr, fields = _RulesetAttr(handled_access_fs=handled), 1
    if version >= 4:
        attr.handled_access_net, fields = _BIND_TCP | _CONNECT_TCP, 2
    if version >= 6:
        attr.scoped, fields = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL, 3
    size = fields * ctypes.sizeof(ctypes.c_uint64)  # the structure as this ABI knows it
    ruleset = _syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    try:
        for paths, rights in ((readable, READ), (writable, handled)):
            for path in paths:
                _allow(ruleset, path, rights & handled)
        if _libc.prctl(
            _PR_SET_NO_NEW_PRIVS, ctypes.c_ulong(1), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)
        ):
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
        _syscall(_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0))
    finally:
        os.close(ruleset)
    return version


def _allow(ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except (FileNotFoundError, PermissionError):  # nothing beneath it is reachable anyway
        return
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            rights &= _FILE_RIGHTS
        rule = _PathBeneathAttr(allowed_access=rights, parent_fd=fd)
        _syscall(
            _ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH), ctypes.byref(rule), ctypes.c_uint32(0)
        )
    finally:
        os.close(fd)
