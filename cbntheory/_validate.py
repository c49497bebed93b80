"""Boundary validation: every check names the parameter, the rule and the value received."""
from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import TooLargeError, ValidationError

NORMALIZATIONS = ("operator", "plain")


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def fail(name: str, rule: str, value: Any) -> ValidationError:
    """Build (not raise) the standard error: ``name must <rule>; got <value>``."""
    return ValidationError(f"{name} must {rule}; got {_describe(value)}")


def real_array(name: str, value: Any, *, ndim: int | Sequence[int] | None = None,
               allow_empty: bool = False) -> np.ndarray:
    """Return ``value`` as a finite float64 array, refusing complex, NaN/inf and wrong ranks."""
    try:
        arr = np.asarray(value)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise fail(name, "be convertible to a numeric array", value) from exc
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise fail(name, "be a real numeric array", arr)
    if np.iscomplexobj(arr):
        raise fail(name, "be real (complex values are not accepted)", arr)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            rule = f"have {' or '.join(str(a) for a in allowed)} dimensions"
            raise fail(name, rule, arr)
    if arr.size == 0 and not allow_empty:
        raise fail(name, "be non-empty", arr)
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValidationError(f"{name} must be finite (no NaN or inf); got {bad} non-finite "
                              f"entries in an array of shape {arr.shape}")
    return arr


#: Largest integer option accepted by default: it fits numpy's int64 (and a float), so no
#: count or depth overflows a computation downstream.
INT_MAX = 2**62


#: Largest magnitude whose square summed over an array of size ``n`` stays finite in float64
#: is ``sqrt(max / n)``; arrays above :func:`no_overflow`'s bound would give inf norms.
_SQRT_MAX = float(np.sqrt(np.finfo(np.float64).max))


def no_overflow(name: str, arr: np.ndarray) -> np.ndarray:
    """Refuse an array whose entries are so large that its norm (or its DFT) overflows.

    The bound ``max |a| * size <= sqrt(float64 max)`` (about 1.3e154 / size) keeps sums of
    squares and sums of ``size`` terms finite; real data are hundreds of orders below.
    """
    big = float(np.max(np.abs(arr), initial=0.0))
    if big * max(arr.size, 1) > _SQRT_MAX:
        raise fail(name, f"have entries small enough for float64 norms (max |entry| x size "
                   f"<= {_SQRT_MAX:.2g})", f"max |entry| {big:.3g} over {arr.size} entries")
    return arr


def positive_int(name: str, value: Any, *, minimum: int = 1, maximum: int = INT_MAX) -> int:
    """Return ``value`` as an int, refusing bools, non-integers and values outside
    ``[minimum, maximum]`` (by default at most :data:`INT_MAX`)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise fail(name, "be an integer", value)
    if int(value) < minimum:
        raise fail(name, f"be >= {minimum}", value)
    if int(value) > maximum:
        raise fail(name, f"be <= {maximum}", value)
    return int(value)


def real_number(name: str, value: Any, *, low: float | None = None, high: float | None = None,
                low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as a finite float in the given range: THE rule for numeric options.

    Bools, strings, complex numbers, NaN and inf are refused with the standard message
    (``name must be ...; got ...``), as is a value outside ``[low, high]`` (an open end with
    ``low_open``/``high_open``; ``None`` leaves that side unbounded).

    Examples
    --------
    >>> real_number("rtol", 1e-3, low=0, high=1, high_open=True)
    0.001
    >>> real_number("rtol", float("nan"), low=0)
    Traceback (most recent call last):
    ...
    cbntheory.errors.ValidationError: rtol must be a finite real number >= 0; got nan
    """
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high:g}")
    rule = "be a finite real number" + (" " + " and ".join(parts) if parts else "")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise fail(name, rule, value)
    x = float(value)
    if not np.isfinite(x):
        raise fail(name, rule, value)
    if low is not None and (x < low or (low_open and x == low)):
        raise fail(name, rule, value)
    if high is not None and (x > high or (high_open and x == high)):
        raise fail(name, rule, value)
    return x


def optional_rtol(name: str, value: Any) -> float | None:
    """``None`` (use the default) or a relative tolerance in ``[0, 1)``.

    A relative tolerance of 1 or more accepts everything (every singular value "is zero",
    every matrix "is a convolution"), and a negative or NaN one silently rejects or accepts
    everything, so both are refused.
    """
    if value is None:
        return None
    return real_number(name, value, low=0.0, high=1.0, high_open=True)


def spatial_shape(name: str, value: Any) -> tuple[int, ...]:
    """Return a 1D ``(d,)`` or 2D ``(d1, d2)`` spatial shape of positive ints."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value,)
    try:
        shape = tuple(value)
    except TypeError:
        raise fail(name, "be a tuple (d,) or (d1, d2) of positive integers", value) from None
    if len(shape) not in (1, 2):
        raise fail(name, "have 1 or 2 axes (1D or 2D images)", value)
    return tuple(positive_int(f"{name}[{i}]", s) for i, s in enumerate(shape))


def normalization(name: str, value: Any) -> str:
    """Return ``value`` if it is one of :data:`NORMALIZATIONS`."""
    if value not in NORMALIZATIONS:
        raise fail(name, f"be one of {NORMALIZATIONS}", value)
    return str(value)


def rng_seed(rng: Any) -> tuple[np.random.Generator, int | None]:
    """Turn ``rng`` (None, int or Generator) into a Generator and the seed to record."""
    if isinstance(rng, np.random.Generator):
        return rng, None
    if rng is None:
        entropy = np.random.SeedSequence().entropy
        seed = int(entropy) % (2**31) if isinstance(entropy, int) else 0
        return np.random.default_rng(seed), seed
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and int(rng) >= 0:
        return np.random.default_rng(int(rng)), int(rng)
    raise fail("rng", "be None, a non-negative integer seed or a numpy Generator", rng)


def master_seed(rng: Any) -> int:
    """The int seed to record for ``rng``: its own seed, or one drawn from a Generator."""
    gen, seed = rng_seed(rng)
    return int(gen.integers(2**31)) if seed is None else seed


def solver_options(tol: Any, time_limit: Any, strict: Any) -> tuple[float, float | None, bool]:
    """The options every solver takes: ``tol`` in (0, 1), ``time_limit`` None or > 0 seconds,
    ``strict`` a bool; returned as ``(float, float or None, bool)``."""
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not 0 < float(tol) < 1:
        raise fail("tol", "be a number in (0, 1) (relative residual)", tol)
    if time_limit is not None and (isinstance(time_limit, bool) or not isinstance(
            time_limit, numbers.Real) or not float(time_limit) > 0):
        raise fail("time_limit", "be None or a positive number of seconds", time_limit)
    if not isinstance(strict, bool):
        raise fail("strict", "be True or False", strict)
    return float(tol), None if time_limit is None else float(time_limit), strict


def fit_tolerance(name: str, value: Any) -> float:
    """The tolerance ``eps`` of the object ``R_eps``: 0 or None (exact interpolation) or a
    relative residual in (0, 1).

    >>> fit_tolerance("epsilon", None), fit_tolerance("epsilon", 1e-3)
    (0.0, 0.001)
    """
    if value is None:
        return 0.0
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not 0 <= float(value) < 1):
        raise fail(name, "be 0 (exact interpolation) or a relative residual in (0, 1)", value)
    return float(value)


def kernel_size(value: Any, ndim: int) -> tuple[int, ...] | None:
    """``None``, or one positive tap count per spatial axis (an int applies to every axis)."""
    if value is None:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value,) * ndim
    try:
        ks = tuple(value)
    except TypeError:
        raise fail("kernel_size", "be None, an int or one int per spatial axis", value) from None
    if len(ks) != ndim:
        raise fail("kernel_size", f"have one entry per spatial axis ({ndim})", value)
    return tuple(positive_int(f"kernel_size[{i}]", k) for i, k in enumerate(ks))


def flag(name: str, value: Any) -> bool:
    """Return ``value`` if it is a boolean (numpy booleans accepted); no truthiness."""
    if not isinstance(value, (bool, np.bool_)):
        raise fail(name, "be True or False", value)
    return bool(value)


_FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


def float_dtype(dtype: Any) -> np.dtype:
    """``float64`` (for ``None``) or ``float32``; anything else is refused."""
    try:
        dt = np.dtype(np.float64 if dtype is None else dtype)
    except TypeError:
        raise fail("dtype", "be float64 or float32", dtype) from None
    if dt not in _FLOAT_DTYPES:
        raise fail("dtype", "be float64 or float32", dtype)
    return dt


_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def max_bytes() -> int:
    """The size cap in bytes: ``$CBNTHEORY_MAX_BYTES`` when set, else the settings value."""
    import os

    from . import settings

    text = os.environ.get(settings.MAX_ARRAY_BYTES_ENV, "").strip()
    if not text:
        return settings.MAX_ARRAY_BYTES
    unit = text[-1].upper() if text[-1].isalpha() else ""
    try:
        value = float(text[:-1] if unit else text) * _UNITS[unit]
    except (KeyError, ValueError):
        value = float("nan")
    if not value > 0 or not np.isfinite(value):
        raise fail(f"${settings.MAX_ARRAY_BYTES_ENV}", "be a positive number of bytes, "
                   "optionally with a K, M, G or T suffix", text)
    return int(value)


def _bytes(n: float) -> str:
    for unit in ("TiB", "GiB", "MiB", "KiB"):
        scale = _UNITS[unit[0]]
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n:.0f} bytes"


def check_size(what: str, shape: Sequence[int] | int, itemsize: int = 8) -> None:
    """THE size guard: refuse an array of ``shape`` (or that many items) above the cap.

    Called before allocating anything whose size the user controls (networks, dense
    Jacobians and operator matrices, loaded arrays).  Python ints do not overflow, so
    absurd shapes give an honest estimate.

    Examples
    --------
    >>> check_size("a small array", (10, 10))
    >>> try:
    ...     check_size("a dense Jacobian", (10**6, 10**6))
    ... except TooLargeError as exc:
    ...     print(str(exc)[:40])
    a dense Jacobian needs 7.28 TiB (an arra
    """
    from . import settings

    items = 1
    dims: Sequence[int] = (int(shape),) if isinstance(shape, numbers.Integral) else \
        tuple(shape)  # type: ignore[arg-type]
    for s in dims:
        items *= int(s)   # Python ints: no overflow for absurd shapes
    need, cap = items * int(itemsize), max_bytes()
    if need > cap:
        raise TooLargeError(
            f"{what} needs {_bytes(need)} (an array of {items} "
            f"{'float64-sized' if itemsize == 8 else f'{itemsize}-byte'} entries), above the "
            f"size cap of {_bytes(cap)}; raise the cap with the environment variable "
            f"{settings.MAX_ARRAY_BYTES_ENV} (bytes, or e.g. 16G) if the machine has the memory")


def read_only(a: np.ndarray) -> np.ndarray:
    """Mark ``a`` read-only (in place) and return it."""
    a.setflags(write=False)
    return a
