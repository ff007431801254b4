"""Binary frames sent from a simulation to the page over its WebSocket.

Every frame is one binary WebSocket message, little-endian throughout, every section
4-byte aligned so the page can view payloads as typed arrays without copying:

    offset  size  field
    0       4     magic  b"GLF1"
    4       1     kind   uint8   (FRAME_KINDS: 1 state, 2 reply, 3 snapshot: a worker's
                               state for a fork, server side only, never sent to a page)
    5       1     count  uint8   number of arrays that follow
    6       2     (zero)
    8       4     step   uint32  training steps taken so far
    12      4     meta_len uint32  bytes of the UTF-8 JSON object that follows (a few scalars:
                               losses, metrics, status — never bulk data)
    16      meta_len  meta JSON, then zero padding to a multiple of 4
    then `count` arrays, each:
            8     name   ASCII, zero padded ("fake", "heat", "grid", ...)
            1     dtype  uint8   (1 float32, 2 uint8, 3 int32)
            1     ndim   uint8   (0..4)
            2     (zero)
            4*ndim shape uint32 each
            n     payload: prod(shape) elements, then zero padding to a multiple of 4

A 2D GAN state frame (512 real + 512 fake points, a 48×48 heat map, 64 arrows) is ≈ 17 KB.
`decode_frame` is the inverse (tests and tools); static/sims/frames.js is the page's decoder.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping
from typing import Any

import numpy as np

MAGIC = b"GLF1"
KIND_STATE, KIND_REPLY, KIND_SNAPSHOT = 1, 2, 3
FRAME_KINDS = {"state": KIND_STATE, "reply": KIND_REPLY, "snapshot": KIND_SNAPSHOT}
DTYPES = {1: np.dtype("<f4"), 2: np.dtype("u1"), 3: np.dtype("<i4")}
_CODES = {np.dtype("float32"): 1, np.dtype("uint8"): 2, np.dtype("int32"): 3}


def _pad(n: int) -> int:
    return (-n) % 4


def _clean(value: Any) -> Any:
    """JSON-safe scalars: NaN/inf become None (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (np.floating,)):
        return _clean(float(value))
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def encode_frame(kind: int, step: int, meta: Mapping[str, Any] | None = None,
                 arrays: Mapping[str, Any] | None = None) -> bytes:
    """Pack `meta` (small JSON) and named numpy/torch arrays into one frame."""
    arrays = dict(arrays or {})
    if len(arrays) > 255:
        raise ValueError("a frame holds at most 255 arrays")
    meta_bytes = json.dumps(_clean(dict(meta or {})), separators=(",", ":")).encode()
    parts = [MAGIC, struct.pack("<BBHII", kind, len(arrays), 0, int(step) & 0xFFFFFFFF,
                                len(meta_bytes)),
             meta_bytes, b"\0" * _pad(len(meta_bytes))]
    for name, value in arrays.items():
        if hasattr(value, "detach"):  # torch tensor
            value = value.detach().cpu().numpy()
        a = np.ascontiguousarray(value)
        if a.dtype not in _CODES:
            a = a.astype(np.float32)
        a = a.astype(a.dtype.newbyteorder("<"), copy=False)
        raw_name = name.encode("ascii")
        if len(raw_name) > 8 or a.ndim > 4:
            raise ValueError(f"array {name!r}: name ≤ 8 ASCII chars and ndim ≤ 4")
        parts.append(raw_name.ljust(8, b"\0"))
        parts.append(struct.pack("<BBH", _CODES[a.dtype], a.ndim, 0))
        parts.append(struct.pack(f"<{a.ndim}I", *a.shape))
        payload = a.tobytes()
        parts.append(payload)
        parts.append(b"\0" * _pad(len(payload)))
    return b"".join(parts)


def decode_meta(data: bytes) -> dict:
    """The meta JSON of a frame only (the arrays are not read)."""
    if data[:4] != MAGIC:
        raise ValueError("not a genlab frame")
    meta_len = struct.unpack_from("<I", data, 12)[0]
    return json.loads(data[16:16 + meta_len].decode())


def decode_frame(data: bytes) -> tuple[int, int, dict, dict[str, np.ndarray]]:
    """Inverse of `encode_frame`: (kind, step, meta, arrays)."""
    if data[:4] != MAGIC:
        raise ValueError("not a genlab frame")
    kind, count, _, step, meta_len = struct.unpack_from("<BBHII", data, 4)
    pos = 16
    meta = json.loads(data[pos:pos + meta_len].decode())
    pos += meta_len + _pad(meta_len)
    arrays: dict[str, np.ndarray] = {}
    for _ in range(count):
        name = data[pos:pos + 8].rstrip(b"\0").decode("ascii")
        code, ndim, _ = struct.unpack_from("<BBH", data, pos + 8)
        shape = struct.unpack_from(f"<{ndim}I", data, pos + 12)
        pos += 12 + 4 * ndim
        dtype = DTYPES[code]
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        arrays[name] = np.frombuffer(data, dtype=dtype, count=nbytes // dtype.itemsize,
                                     offset=pos).reshape(shape)
        pos += nbytes + _pad(nbytes)
    return kind, step, meta, arrays
