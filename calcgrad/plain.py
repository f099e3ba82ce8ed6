"""Plain data: what may cross from a student's process to the grader.

A value computed by student code is turned into a JSON-compatible dict
(numbers, strings, lists, arrays as base64 bytes with shape and dtype) by
`encode`, and back into ordinary Python / NumPy values by `decode`.
Nothing here unpickles or calls methods of the student's objects beyond
reading tensors and arrays, so a hostile object cannot change what the
grader sees. Everything is size-capped.

Introduced by: every notebook's test cells (indirectly, through `calcgrad.checks`).
"""

from __future__ import annotations

import base64
import math
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

import numpy as np

from calcgrad.textsafe import MAX_MESSAGE, safe_str

MAX_ARRAY_BYTES = 4 * 1024 * 1024  # one array or tensor
MAX_ITEMS = 10_000  # items in one list, tuple or dict
MAX_DEPTH = 8  # nesting of lists, tuples and dicts
MAX_TEXT = MAX_MESSAGE  # characters kept of a string or an error message

_ALLOWED_DTYPES = {"b", "i", "u", "f"}  # bool, signed, unsigned, float


@dataclass
class StudentError:
    """The exception a student's code raised, as plain data (never re-raised)."""

    error: str
    message: str

    def __str__(self) -> str:
        return f"{self.error}: {self.message}" if self.message else self.error


@dataclass
class Opaque:
    """A value that is not plain data (a function, a module, a custom object)."""

    type_name: str
    reason: str = "not plain data"


@dataclass
class Array:
    """A decoded array plus where it came from (a torch tensor or NumPy)."""

    data: np.ndarray
    origin: str = "numpy"  # "torch" or "numpy"
    dtype: str = ""  # the original dtype's name, e.g. "float32" or "torch.float64"
    requires_grad: bool = False
    is_leaf: bool = True
    extra: dict = field(default_factory=dict)


def _text(value: Any) -> str:
    s = value if type(value) is str else ""
    return s[:MAX_TEXT]


def _type_name(obj: Any) -> str:
    t = type(obj)
    return f"{getattr(t, '__module__', '?')}.{getattr(t, '__qualname__', '?')}"[:200]


def _encode_ndarray(arr: np.ndarray, origin: str, dtype_name: str, **meta: Any) -> dict:
    if arr.dtype.kind not in _ALLOWED_DTYPES:
        return {"kind": "opaque", "type": f"array of {arr.dtype}", "reason": "unsupported dtype"}
    if arr.nbytes > MAX_ARRAY_BYTES:
        return {"kind": "opaque", "type": f"array of shape {list(arr.shape)}", "reason": "too large"}
    shape = [int(n) for n in arr.shape]  # before ascontiguousarray, which makes 0-d arrays 1-d
    arr = np.ascontiguousarray(arr)
    return {
        "kind": "array",
        "origin": origin,
        "dtype": dtype_name,
        "npdtype": arr.dtype.str,
        "shape": shape,
        "data": base64.b64encode(arr.tobytes()).decode("ascii"),
        **meta,
    }


def _encode_tensor(t: Any) -> dict:
    torch = sys.modules["torch"]
    meta = {"requires_grad": bool(t.requires_grad), "is_leaf": bool(t.is_leaf)}
    dtype_name = str(t.dtype)
    base = torch.Tensor.detach(t)
    if base.is_complex() or base.layout != torch.strided:
        return {"kind": "opaque", "type": f"tensor of {dtype_name}", "reason": "unsupported tensor"}
    if base.dtype in (torch.bfloat16, torch.float16):
        base = base.to(torch.float32)
    base = base.cpu().contiguous()
    n_bytes = base.element_size() * base.numel()
    if n_bytes > MAX_ARRAY_BYTES:
        return {"kind": "opaque", "type": f"tensor of shape {list(base.shape)}", "reason": "too large"}
    arr = torch.Tensor.numpy(base).copy()
    return _encode_ndarray(arr, "torch", dtype_name, **meta)


def _is_tensor(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def encode(value: Any, depth: int = 0) -> dict:
    """Turn a student's value into JSON-compatible plain data (size-capped)."""
    if depth > MAX_DEPTH:
        return {"kind": "opaque", "type": "nested value", "reason": "nested too deeply"}
    if value is None:
        return {"kind": "none"}
    t = type(value)
    if t is bool or isinstance(value, np.bool_):
        return {"kind": "bool", "value": bool(value)}
    if isinstance(value, int) and not isinstance(value, bool):
        return {"kind": "number", "value": float(value) if abs(value) > 2**53 else int(value)}
    if isinstance(value, float):
        return {"kind": "number", "value": _float_out(float(value))}
    if isinstance(value, np.generic) and value.dtype.kind in _ALLOWED_DTYPES:
        return {"kind": "number", "value": _float_out(float(value)), "dtype": str(value.dtype)}
    if isinstance(value, str):
        return {"kind": "str", "value": str.__str__(value)[:MAX_TEXT]}
    if _is_tensor(value):
        return _encode_tensor(value)
    if isinstance(value, np.ndarray):
        return _encode_ndarray(np.asarray(value), "numpy", str(value.dtype))
    if isinstance(value, (list, tuple)):
        items = list(value)
        if len(items) > MAX_ITEMS:
            return {"kind": "opaque", "type": f"{t.__name__} of {len(items)} items", "reason": "too large"}
        return {"kind": "list", "tuple": isinstance(value, tuple),
                "items": [encode(v, depth + 1) for v in items]}
    if isinstance(value, dict):
        if len(value) > MAX_ITEMS:
            return {"kind": "opaque", "type": f"dict of {len(value)} items", "reason": "too large"}
        return {"kind": "dict",
                "items": [[safe_str(k)[:200], encode(v, depth + 1)] for k, v in dict.items(value)]}
    return {"kind": "opaque", "type": _type_name(value), "reason": "not plain data"}


def _float_out(x: float) -> float | str:
    """JSON has no NaN or infinity: spell them as strings."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def _float_in(x: Any) -> float | int:
    if x in ("nan", "inf", "-inf"):
        return float(x)
    if type(x) in (int, float):
        return x
    raise ValueError(f"not a number: {x!r}")


def error_value(exc: BaseException) -> dict:
    return {"kind": "error", "error": type(exc).__name__[:200], "message": safe_str(exc)}


def capture(fn: Callable[[], Any]) -> dict:
    """Call a student's zero-argument function and encode what it returns or raises.

    Warnings raised meanwhile are recorded instead of printed: nbgrader
    scores a test cell that writes to stderr as failed.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            plain = encode(fn())
        except Exception as exc:  # noqa: BLE001 - any student error becomes a verdict
            plain = error_value(exc)
    if caught:
        plain["warnings"] = [safe_str(w.message)[:500] for w in caught[:5]]
    return plain


def decode(plain: Any, depth: int = 0) -> Any:
    """Plain data back to Python: None, bool, int/float, str, list, dict, Array, ..."""
    if type(plain) is not dict or depth > MAX_DEPTH + 1:
        raise ValueError("malformed plain value")
    kind = plain.get("kind")
    if kind == "none":
        return None
    if kind == "bool":
        return bool(plain["value"])
    if kind == "number":
        return _float_in(plain["value"])
    if kind == "str":
        return _text(plain["value"])
    if kind == "array":
        return _decode_array(plain)
    if kind == "list":
        items = [decode(v, depth + 1) for v in plain["items"][:MAX_ITEMS]]
        return tuple(items) if plain.get("tuple") else items
    if kind == "dict":
        return {_text(k): decode(v, depth + 1) for k, v in plain["items"][:MAX_ITEMS]}
    if kind == "error":
        return StudentError(_text(plain.get("error", "")), _text(plain.get("message", "")))
    if kind == "opaque":
        return Opaque(_text(plain.get("type", "")), _text(plain.get("reason", "")))
    raise ValueError(f"unknown kind of plain value: {kind!r}")


def _decode_array(plain: dict) -> Array:
    npdtype = np.dtype(_text(plain["npdtype"]))
    if npdtype.kind not in _ALLOWED_DTYPES:
        raise ValueError("unsupported dtype")
    shape = tuple(int(n) for n in plain["shape"])
    text = plain["data"]
    if type(text) is not str or len(text) > 2 * MAX_ARRAY_BYTES:
        raise ValueError("array data is not a string of the allowed size")
    raw = base64.b64decode(text)
    data = np.frombuffer(raw, dtype=npdtype)
    if data.size != math.prod(shape):
        raise ValueError("array data does not match its shape")
    return Array(
        data=data.reshape(shape).copy(),
        origin="torch" if plain.get("origin") == "torch" else "numpy",
        dtype=_text(plain.get("dtype", "")),
        requires_grad=bool(plain.get("requires_grad", False)),
        is_leaf=bool(plain.get("is_leaf", True)),
    )
