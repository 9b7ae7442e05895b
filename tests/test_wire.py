import io

import numpy as np
import pytest

from autograder.wire import decode, encode


def test_arrays_and_meta_round_trip():
    arrays = {"a/x": np.arange(6.0).reshape(2, 3), "b": np.array([1, 2], dtype=np.int64)}
    decoded, meta = decode(encode(arrays, {"errors": {"a": "ValueError: no"}}))
    assert meta == {"errors": {"a": "ValueError: no"}}
    assert decoded.keys() == arrays.keys()
    assert all(np.array_equal(decoded[key], arrays[key]) for key in arrays)


def test_pickled_objects_are_refused():
    buffer = io.BytesIO()
    np.savez(buffer, evil=np.array([object()], dtype=object), __meta__=np.frombuffer(b"{}", dtype=np.uint8))
    with pytest.raises(ValueError, match="malformed payload"):
        decode(buffer.getvalue())


@pytest.mark.parametrize("blob", [b"", b"garbage", encode({})[:-10]])
def test_garbage_is_a_value_error(blob):
    with pytest.raises(ValueError, match="malformed payload"):
        decode(blob)
