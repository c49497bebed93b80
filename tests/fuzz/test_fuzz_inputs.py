"""Property-based fuzzing of the public functions and the ``cbn`` command (issue 14).

Each property draws inputs, most of them bad, and judges the answer with
:mod:`_fuzz`: a bad input must give a one-line ``CBNError``, a good one an honest answer
(a status whose numbers mean what they say).  The known cases of issue 14 are kept as
explicit examples (``@example``) so they run first and always.  ``@pytest.mark.slow``
versions draw many more inputs.
"""
from __future__ import annotations

import math
import os

import _fuzz
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import cbntheory as cbn
from cbntheory.convex import two_layer_min_norm

FAST, LONG = 25, 300

#: Values that are not a usable relative tolerance: NaN, infinities, negatives, >= 1,
#: wrong types.  (``None`` means the default and is not bad.)
bad_rtol = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not 0 <= x < 1),
    st.sampled_from(["x", "1e-3", True, False, 1j, [1e-3], b"0"]),
    st.integers().filter(lambda n: not 0 <= n < 1))
bad_int = st.one_of(
    st.integers(max_value=0), st.integers(min_value=2**63, max_value=10**401),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(["3", True, None, 2.0]))

_RNG = np.random.default_rng(14)
_A = cbn.ConvOperator.from_kernel(_RNG.standard_normal((2, 2, 8)))
_M = _RNG.standard_normal((16, 16))          # a dense matrix that is no convolution


def _rtol_property(rtol):
    _fuzz.judge("linear_cost rtol", _fuzz.refused(lambda: cbn.linear_cost(_A, 2, rtol=rtol)))
    _fuzz.judge("from_matrix rtol", _fuzz.refused(
        lambda: cbn.ConvOperator.from_matrix(_M, (8,), 2, 2, rtol=rtol)))


@settings(max_examples=FAST)
@given(bad_rtol)
@example(float("nan"))
@example(2.0)
@example(-1)
@example("x")
def test_bad_rtol_is_refused(rtol):
    _rtol_property(rtol)


@pytest.mark.slow
@settings(max_examples=LONG)
@given(bad_rtol)
def test_bad_rtol_is_refused_long(rtol):
    _rtol_property(rtol)


@settings(max_examples=FAST)
@given(bad_int)
@example(10**401)
def test_bad_depth_is_refused(depth):
    _fuzz.judge("linear_cost depth", _fuzz.refused(lambda: cbn.linear_cost(_A, depth)))


_ARCH2 = cbn.Architecture((2,), (1, 4, 1), head="avgpool")
_X2 = np.array([[[0.0, 1.0]], [[1.0, 3.0]]])
_Y2 = np.array([1.0, -1.0])


@settings(max_examples=FAST)
@given(st.one_of(bad_rtol.filter(lambda t: not (isinstance(t, float) and t == 0.0)),
                 st.just(0.0)), st.sampled_from([0, 1]))
@example(-1, 0)
@example(0.5, "x")
def test_convex_options_are_checked(tol, rng):
    # rng "x" with a good tol, or a bad tol with a good rng: both must be refused
    if not isinstance(rng, int):
        _fuzz.judge("convex rng", _fuzz.refused(
            lambda: two_layer_min_norm(_ARCH2, _X2, _Y2, tol=tol, rng=rng)))
    else:
        _fuzz.judge("convex tol", _fuzz.refused(
            lambda: two_layer_min_norm(_ARCH2, _X2, _Y2, tol=tol, rng=rng)))


@settings(max_examples=FAST)
@given(st.lists(st.integers(min_value=10**5, max_value=10**7), min_size=1, max_size=2),
       st.integers(min_value=1, max_value=4))
@example([100000, 100000], 1)
def test_huge_networks_are_refused_before_allocating(spatial, channels):
    # at least 1e10 float64 weights (>= 80 GB): refused by the size guard, not a MemoryError
    if math.prod(spatial) * channels ** 2 < 10**10:   # a full-size kernel: d n_0 n_1 taps
        spatial = [10**5, 10**5]
    arch_or_error = _fuzz.no_raw_error(
        lambda: cbn.Architecture(tuple(spatial), (channels, channels)))
    if arch_or_error[0] is not None or arch_or_error[1] is None:
        _fuzz.judge("huge Architecture.init", arch_or_error[0])
        return
    _fuzz.judge("huge Architecture.init", _fuzz.refused(lambda: arch_or_error[1].init()))


@settings(max_examples=5)
@given(st.integers(min_value=2**15, max_value=2**16), st.integers(min_value=8, max_value=10))
@example(4096, 8)   # the case: 8 GiB
def test_huge_jacobians_are_refused_before_allocating(d, channels):
    # a dense Jacobian of (channels d)^2 entries: 8 GiB and up (beyond 64 GiB when
    # drawn, so that an unguarded version fails at once instead of filling the memory)
    net = cbn.Architecture((d,), (channels, channels), kernel_size=1, bias=False).init(rng=0)
    x = np.zeros((channels, d))
    _fuzz.judge("huge Network.jacobian", _fuzz.refused(lambda: net.jacobian(x)))


@settings(max_examples=FAST)
@given(st.one_of(st.integers(min_value=2, max_value=10**6), st.integers(max_value=0)))
@example(99)
def test_network_files_from_the_future_are_refused(tmp_path_factory, version):
    path = tmp_path_factory.mktemp("nets") / "net.npz"
    cbn.Architecture((4,), (1, 1), bias=False).init(rng=0).save(path)
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["version"] = np.array(version)
    np.savez(path, **arrays)
    _fuzz.judge("Network.load version", _fuzz.refused(lambda: cbn.Network.load(path)))


@settings(max_examples=FAST)
@given(st.integers(min_value=3, max_value=10**6), st.sampled_from([[2, 2], [1, 3], [2, 1]]))
@example(99, [2, 2])
def test_sweep_lowrank_rank_is_checked_against_channels(rank, channels):
    from cbntheory.sweep.jobs import normalize_params

    _fuzz.judge("sweep lowrank rank", _fuzz.refused(lambda: normalize_params(
        "linear_cost", {"target": "lowrank", "rank": rank, "channels": channels})))


# ------------------------------------------------------------------ honest statuses
_ARCH_K = cbn.Architecture((6,), (1, 2, 1), activation="linear", bias=False, kernel_size=3)


@settings(max_examples=8)
@given(st.integers(min_value=1, max_value=3), st.integers(min_value=0, max_value=2**16))
@example(1, 0)
def test_a_starved_solve_carries_no_upper_bound(max_iter, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((2, 1, 6))
    net = _ARCH_K.init(rng=seed)
    Y = net(X)
    err, res = _fuzz.no_raw_error(lambda: cbn.minimal_norm(
        _ARCH_K, data=(X, Y), method="numerical", max_iter=max_iter, rng=seed))
    if err is None and res is not None:
        verified = res.status in ("optimal", "not_certified")
        if verified and not res.residual <= res.options["tol"]:
            err = f"verified status {res.status} with residual {res.residual}"
        elif not verified and (math.isfinite(res.upper) or math.isfinite(res.value)
                               or "upper bound" in res.message):
            err = (f"status {res.status} but upper {res.upper}, value {res.value}, "
                   f"message {res.message[:80]!r}")
    _fuzz.judge("starved solve is honest", err)


@settings(max_examples=10)
@given(st.floats(min_value=1e-9, max_value=1e-4), st.integers(min_value=0, max_value=2**16),
       st.booleans())
@example(4.5e-8, 0, False)
@example(0.0, 1, True)
def test_feasibility_is_judged_against_tol(noise, seed, float32_x):
    rng = np.random.default_rng(seed)
    arch = cbn.Architecture((6,), (1, 1, 1), activation="linear", bias=False)
    A = cbn.ConvOperator.from_kernel(rng.standard_normal((1, 1, 6)))
    X = rng.standard_normal((3, 1, 6))
    if float32_x:
        X = X.astype(np.float32)
        Y = A.apply(X.astype(np.float32)).astype(np.float32).astype(np.float64)
    else:
        Y = A.apply(X)
        Y = Y + noise * np.linalg.norm(Y) * rng.standard_normal(Y.shape) / np.sqrt(Y.size)
    err, res = _fuzz.no_raw_error(lambda: cbn.minimal_norm(arch, data=(X, Y), tol=1e-3))
    if err is None and res is None:
        err = "InfeasibleError for data reproducible to tol = 1e-3"
    elif res is not None and not (res.status in ("optimal", "not_certified")
                                   and res.residual <= 1e-3):
        err = f"status {res.status}, residual {res.residual}"
    _fuzz.judge("feasibility against tol", err)


# ------------------------------------------------------------------ the cbn command
@settings(max_examples=FAST)
@given(st.one_of(st.integers(min_value=2**63, max_value=10**401).map(str),
                 st.integers(max_value=0).map(str),
                 st.sampled_from(["nan", "inf", "1.5", "", "two", "1e400"])))
@example("9" * 401)
def test_cli_cost_depth(tmp_path_factory, depth):
    path = tmp_path_factory.mktemp("k") / "k.npy"
    np.save(path, np.random.default_rng(0).standard_normal((1, 1, 8)))
    _fuzz.judge("cbn cost --depth", _fuzz.cli_refused(["cost", str(path), "--depth", depth]))


@settings(max_examples=FAST)
@given(st.sampled_from(["huge", "inf", "overflow", "garbage", "empty"]),
       st.integers(min_value=36, max_value=60))
@example("huge", 36)
@example("overflow", 0)
def test_cli_cost_bad_files(tmp_path_factory, kind, exponent):
    import numpy.lib.format as fmt

    path = tmp_path_factory.mktemp("f") / "k.npy"
    if kind == "huge":  # a header that claims 2**exponent float64 entries, no data
        with open(path, "wb") as fh:
            fmt.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False,
                                            "shape": (1, 1, 2**exponent)})
    elif kind == "overflow":
        np.save(path, np.full((1, 1, 8), 10.0 ** (300 + exponent % 9)))
    elif kind == "inf":
        np.save(path, np.full((1, 1, 8), np.inf))
    elif kind == "garbage":
        path.write_bytes(os.urandom(exponent))
    else:
        path.write_bytes(b"")
    _fuzz.judge("cbn cost bad file", _fuzz.cli_refused(["cost", str(path), "--depth", "2"]))


@settings(max_examples=10)
@given(st.sampled_from(["/nonexistent/dir/net.npz", "DIR", "DIR/", "/proc/net.npz",
                        "FILE/net.npz"]),
       st.sampled_from(["fit", "convex"]))
@example("/nonexistent/dir/net.npz", "fit")
@example("DIR", "fit")
def test_cli_bad_output_paths_are_refused_before_solving(tmp_path_factory, out, command):
    tmp = tmp_path_factory.mktemp("o")
    (tmp / "FILE").write_text("x")
    (tmp / "DIR").mkdir()
    out = out.replace("DIR", str(tmp / "DIR")).replace("FILE", str(tmp / "FILE"))
    if out.startswith("/nonexistent") and os.access("/", os.W_OK):
        out = "/proc/nonexistent/net.npz"   # running as root: / is writable, /proc is not
    data = tmp / "d.npz"
    np.savez(data, X=_X2, Y=_Y2.reshape(-1, 1))
    argv = (["fit", str(data), "--channels", "1,4,1", "--head", "avgpool", "--out", out]
            if command == "fit" else ["convex", str(data), "--save-network", out])
    _fuzz.judge("cbn output path", _fuzz.cli_refused(argv))
