"""Byte format for arrays crossing the sandbox boundary.

Both sides read with ``allow_pickle=False``: a submission can only hand back
numbers and one JSON document, never objects that run code when loaded.
This module is copied into the sandbox, so it imports nothing but numpy.
"""

from __future__ import annotations

import io
import json
import threading

import numpy as np

_META_KEY = "__meta__"
# CPython 3.11's parser is not thread-safe: two threads parsing at once can fail with
# "SystemError: AST constructor recursion depth mismatch". np.load parses every array
# header with ast.literal_eval, and the grader extracts notebooks (ast.parse) on other
# threads, so everything in one process that parses Python takes this lock.
AST_LOCK = threading.Lock()


def encode(arrays: dict[str, np.ndarray], meta: dict | None = None) -> bytes:
    """Pack named arrays and a JSON-able ``meta`` dict into bytes."""
    payload = dict(arrays)
    payload[_META_KEY] = np.frombuffer(json.dumps(meta or {}).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **payload)
    return buffer.getvalue()


def decode(blob: bytes) -> tuple[dict[str, np.ndarray], dict]:
    """Inverse of :func:`encode`; raises ``ValueError`` on anything else."""
    try:
        with AST_LOCK, np.load(io.BytesIO(blob), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        meta = json.loads(arrays.pop(_META_KEY).tobytes().decode())
    except Exception as error:  # any malformed payload is one kind of failure
        raise ValueError(f"malformed payload: {error}") from None
    if not isinstance(meta, dict):
        raise ValueError("malformed payload: meta is not a JSON object")
    return arrays, meta
