"""The catalogue of built-in targets: one factory per target returning ``Target`` fields.

Each factory states the target and derives its ranks in the description; the rank
vectors are written from the derivation (closed forms), never computed numerically
from the target, so the tests can compare them with independent computations.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import fourier
from ..operators import ConvOperator
from ..theory.construction import bias_orbit_construction, orbit_construction, pool_construction
from . import signals as S

Spec = dict[str, Any]


def _degree(shape: tuple[int, ...]) -> np.ndarray:
    return fourier.degree(shape, "l1")


def _linear_facts(rank: int) -> Spec:
    """Bias rank and R0 of a linear target: T1 gives R0 exactly; on the whole space the
    affine span of the constant frequency's values is its linear span, so biases change
    nothing."""
    return dict(rank_cbn_bias=rank, r0_interval=(float(rank), float(rank)),
                r0_source="T1: R0 = sum_m rank A_m exactly (linear networks, no biases)")


def _indicator(shape: tuple[int, ...], freqs: list[tuple[int, ...]]) -> np.ndarray:
    vec = np.zeros(shape, dtype=int)
    for m in freqs:
        vec[tuple(int(v) % n for v, n in zip(m, shape))] = 1
    return vec


# ---------------------------------------------------------------- linear filters
def _bandlimited(shape: tuple[int, ...], band: int) -> Callable[[], ConvOperator]:
    def build() -> ConvOperator:
        deg = _degree(shape)
        gain = np.where(deg <= band, np.cos(np.pi * deg / (2 * (band + 1))) ** 2, 0.0)
        return ConvOperator.from_blocks(gain[..., None, None].astype(complex))
    return build


def bandlimited_1d() -> Spec:
    shape, band = (16,), 3
    vec = (_degree(shape) <= band).astype(int)
    return dict(
        name="bandlimited_1d", title="band-limited low-pass filter, d = 16, |m| <= 3",
        description=(
            "Single-channel low-pass filter on Z_16 with frequency multiplier "
            "A_m = cos^2(pi |m| / 8) for |m| <= 3 and A_m = 0 otherwise (|m| the wrapped "
            "degree). Each 1x1 block A_m has rank 1 where it is non-zero (cos^2 > 0 for "
            "|m| <= 3 < 4) and 0 elsewhere, so k_m = 1{|m| <= 3}: 7 frequencies "
            "(0, +-1, +-2, +-3). For a linear map T1 gives R0 = sum_m rank A_m, and the "
            "Jacobian is A itself, so Rank_J = Rank_CBN = 7. No integer kernel has this "
            "band: the zero set of an integer kernel's spectrum is a union of Galois "
            "orbits {m : gcd(m, d) = g}, and |m| <= 3 is not."),
        spatial_shape=shape, kind="operator", activation="linear", head=None,
        **_linear_facts(int(vec.sum())),
        rank_j=int(vec.sum()), rank_cbn=int(vec.sum()), cbn_vector=vec,
        default_width=1, quick_width=1, _operator=_bandlimited(shape, band))


def bandlimited_2d() -> Spec:
    shape, band = (8, 8), 2
    vec = (_degree(shape) <= band).astype(int)
    return dict(
        name="bandlimited_2d", title="band-limited low-pass filter, 8x8, |m1| + |m2| <= 2",
        description=(
            "Single-channel low-pass filter on Z_8 x Z_8 with A_m = cos^2(pi deg(m) / 6) for "
            "deg(m) = |m1| + |m2| <= 2 (wrapped) and 0 otherwise. The frequencies with "
            "deg <= 2 are 1 (constant) + 4 (degree 1) + 8 (degree 2) = 13, each a non-zero "
            "1x1 block, so k_m = 1{deg(m) <= 2} and Rank_J = Rank_CBN = R0 = 13 (T1)."),
        spatial_shape=shape, kind="operator", activation="linear", head=None,
        **_linear_facts(int(vec.sum())),
        rank_j=int(vec.sum()), rank_cbn=int(vec.sum()), cbn_vector=vec,
        default_width=1, quick_width=1, _operator=_bandlimited(shape, band))


def _mixer_kernel(U: np.ndarray, Vm: np.ndarray, filters: list[np.ndarray]) -> np.ndarray:
    """``W[o, i, p] = sum_j U[o, j] V[j, i] k_j[p]``."""
    return np.einsum("oj,ji,j...->oi...", U, Vm, np.stack(filters)).astype(float)


def mixer_1d_kernel() -> np.ndarray:
    """Integer kernel (4, 4, 8) of the 1D channel mixer."""
    U = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0], [2, -1, 1]])
    Vm = np.array([[1, 2, 0, -1], [0, 1, 1, 1], [1, 0, -1, 2]])
    d = 8
    k1, k2, k3 = np.zeros(d), np.zeros(d), np.zeros(d)
    k1[0] = 1
    k2[[0, 1]] = 1
    k3[0], k3[2] = 1, -1
    return _mixer_kernel(U, Vm, [k1, k2, k3])


def mixer_1d() -> Spec:
    d = 8
    m = np.arange(d)
    vec = 1 + (m != d // 2) + ((2 * m) % d != 0)
    return dict(
        name="mixer_1d", title="low-rank channel mixer, 4 -> 4 channels, d = 8",
        description=(
            "W[o, i, p] = sum_{j=1..3} U[o, j] V[j, i] k_j[p] with integer U (4x3, rank 3), "
            "V (3x4, rank 3) and spatial filters k_1 = delta_0, k_2 = delta_0 + delta_1, "
            "k_3 = delta_0 - delta_2. The block at m is c U diag(khat_j[m]) V, whose rank "
            "is the number of j with khat_j[m] != 0 (U has independent columns, V "
            "independent rows). khat_1 = 1 never vanishes; khat_2[m] = 1 + w^-m "
            "(w = exp(2 pi i / 8)) vanishes only at m = 4; khat_3[m] = 1 - w^-2m vanishes "
            "at m = 0 and m = 4. Hence k = (2, 3, 3, 3, 1, 3, 3, 3), Rank_J = Rank_CBN = "
            "R0 = 21. The kernel is integer, so cbn.symbolic.exact_cbn_rank confirms the "
            "vector without tolerance."),
        spatial_shape=(d,), kind="operator", activation="linear", head=None,
        **_linear_facts(int(vec.sum())),
        rank_j=int(vec.sum()), rank_cbn=int(vec.sum()), cbn_vector=vec.astype(int),
        in_channels=4, out_channels=4, default_width=3, quick_width=3,
        _operator=lambda: ConvOperator.from_kernel(mixer_1d_kernel()))


def mixer_2d_kernel() -> np.ndarray:
    """Integer kernel (3, 3, 4, 4) of the 2D channel mixer."""
    U = np.array([[1, 0], [1, 1], [0, 2]])
    Vm = np.array([[1, -1, 0], [2, 0, 1]])
    k1, k2 = np.zeros((4, 4)), np.zeros((4, 4))
    k1[0, 0], k1[1, 0] = 1, 1
    k2[0, 0], k2[0, 1] = 1, -1
    return _mixer_kernel(U, Vm, [k1, k2])


def mixer_2d() -> Spec:
    m1, m2 = np.meshgrid(np.arange(4), np.arange(4), indexing="ij")
    vec = (m1 != 2).astype(int) + (m2 != 0).astype(int)
    return dict(
        name="mixer_2d", title="low-rank channel mixer, 3 -> 3 channels, 4x4",
        description=(
            "W[o, i, p] = sum_{j=1,2} U[o, j] V[j, i] k_j[p] on Z_4 x Z_4 with integer "
            "U (3x2) and V (2x3) of rank 2, k_1 = delta_(0,0) + delta_(1,0) and "
            "k_2 = delta_(0,0) - delta_(0,1). khat_1[m] = 1 + i^-m1 vanishes iff m1 = 2; "
            "khat_2[m] = 1 - i^-m2 vanishes iff m2 = 0. So rank A_m = 1{m1 != 2} + "
            "1{m2 != 0}: 2 at 9 frequencies, 1 at 6, 0 at m = (2, 0); Rank_J = Rank_CBN = "
            "R0 = 24 (T1). Integer kernel: exact_cbn_rank confirms it."),
        spatial_shape=(4, 4), kind="operator", activation="linear", head=None,
        **_linear_facts(int(vec.sum())),
        rank_j=int(vec.sum()), rank_cbn=int(vec.sum()), cbn_vector=vec,
        in_channels=3, out_channels=3, default_width=2, quick_width=2,
        _operator=lambda: ConvOperator.from_kernel(mixer_2d_kernel()))


# ---------------------------------------------------------------- the kernels of ``cbn cost``
def cosine_filter_kernel() -> np.ndarray:
    """Kernel (1, 1, 16) of ``1 + cos(2 pi p/16) + 0.5 cos(4 pi p/16)``."""
    p = np.arange(16)
    return (1.0 + np.cos(2 * np.pi * p / 16) + 0.5 * np.cos(4 * np.pi * p / 16)).reshape(1, 1, 16)


def cosine_filter_1d() -> Spec:
    vec = (_degree((16,)) <= 2).astype(int)
    return dict(
        name="cosine_filter_1d", title="cosine filter 1 + cos(2 pi p/16) + 0.5 cos(4 pi p/16)",
        description=(
            "Single-channel filter on Z_16 with kernel k[p] = 1 + cos(2 pi p/16) + "
            "0.5 cos(4 pi p/16). Its DFT is 16 at m = 0, 8 at m = +-1 and 4 at m = +-2 and 0 "
            "elsewhere; with c = 1/4 the multipliers are 4, 2, 2, 1, 1. Each non-zero 1x1 "
            "block has rank 1, so k_m = 1{|m| <= 2} and Rank_J = Rank_CBN = R0 = 5 (T1). "
            "(Formerly cbn cost --example band-limited; not the target bandlimited_1d, whose "
            "band is |m| <= 3.)"),
        spatial_shape=(16,), kind="operator", activation="linear", head=None,
        **_linear_facts(int(vec.sum())),
        rank_j=int(vec.sum()), rank_cbn=int(vec.sum()), cbn_vector=vec,
        default_width=1, quick_width=1,
        _operator=lambda: ConvOperator.from_kernel(cosine_filter_kernel()))


def smooth_mixer_kernel() -> np.ndarray:
    """Kernel (4, 4, 8, 8): a rank-2 channel mixer times a filter keeping degree <= 1."""
    d = 8
    p1, p2 = np.meshgrid(np.arange(d), np.arange(d), indexing="ij")
    smooth = (1.0 + np.cos(2 * np.pi * p1 / d) + np.cos(2 * np.pi * p2 / d)) / d
    left = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, -1.0]])
    right = np.array([[1.0, 2.0, 0.0, -1.0], [0.0, 1.0, 1.0, 1.0]])
    return np.einsum("oi,xy->oixy", left @ right, smooth)


def smooth_mixer_2d() -> Spec:
    vec = 2 * (_degree((8, 8)) <= 1).astype(int)
    return dict(
        name="smooth_mixer_2d", title="rank-2 channel mixer times a smooth filter, 4 -> 4, 8x8",
        description=(
            "W[o, i, p] = M[o, i] s[p] on Z_8 x Z_8 with M = left @ right a fixed 4x4 matrix "
            "of rank 2 and s[p] = (1 + cos(2 pi p1/8) + cos(2 pi p2/8)) / 8, whose DFT is "
            "8 at m = 0 and 4 at the four degree-1 frequencies (0 elsewhere). The block at m "
            "is c s-hat[m] M: rank 2 where s-hat[m] != 0 and 0 elsewhere, so k_m = 2 on the "
            "5 frequencies of degree <= 1 and Rank_J = Rank_CBN = R0 = 10 (T1). (Formerly "
            "cbn cost --example low-rank-mixer.)"),
        spatial_shape=(8, 8), kind="operator", activation="linear", head=None,
        **_linear_facts(int(vec.sum())),
        rank_j=int(vec.sum()), rank_cbn=int(vec.sum()), cbn_vector=vec,
        in_channels=4, out_channels=4, default_width=2, quick_width=2,
        _operator=lambda: ConvOperator.from_kernel(smooth_mixer_kernel()))


def gaussian_blur_kernel() -> np.ndarray:
    """Kernel (1, 1, 8, 8) of the periodic Gaussian blur, sigma = 1 pixel, unit gain."""
    d, sigma = 8, 1.0
    wrapped = np.minimum(np.arange(d), d - np.arange(d))
    blur = np.exp(-(wrapped[:, None] ** 2 + wrapped[None, :] ** 2) / (2 * sigma ** 2))
    return (np.sqrt(d * d) * blur / blur.sum()).reshape(1, 1, d, d)


def gaussian_blur_2d() -> Spec:
    vec = np.ones((8, 8), dtype=int)
    return dict(
        name="gaussian_blur_2d", title="periodic Gaussian blur, 8x8, sigma = 1 pixel",
        description=(
            "Single-channel periodic Gaussian blur on Z_8 x Z_8 (sigma = 1 pixel, unit gain "
            "at m = 0). The kernel is a product g(p1) g(p2) of two wrapped Gaussians, so its "
            "DFT is the product of their DFTs; each is a sum of exp(-t^2/2) cos(2 pi m t/8) "
            "over the wrapped offsets t, positive at every m (a theta function, well above "
            "round-off: the smallest, at m = (4, 4), is about 2e-4 of the largest). Every "
            "1x1 block has rank 1: k_m = 1 at all 64 frequencies and Rank_J = Rank_CBN = "
            "R0 = 64, while the tiny high-frequency multipliers make R1 very negative. "
            "(Formerly cbn cost --example gaussian-blur.)"),
        spatial_shape=(8, 8), kind="operator", activation="linear", head=None,
        **_linear_facts(64),
        rank_j=64, rank_cbn=64, cbn_vector=vec, default_width=1, quick_width=1,
        _operator=lambda: ConvOperator.from_kernel(gaussian_blur_kernel()))


# ---------------------------------------------------------------- ReLU targets on data
def invariant_pool() -> Spec:
    d = 8

    def data(quick: bool) -> tuple[np.ndarray, np.ndarray]:
        X = S.gaussian_inputs(8 if quick else 24, (1, d))
        return X, S.upward_jumps(X)

    return dict(
        name="invariant_pool",
        title="translation-invariant f(x) = mean_p relu(x[p] - x[p-1]) through the avgpool head",
        description=(
            "f(x) = (1/d) sum_p relu(x[p] - x[p-1]) on Z_8 (the mean upward jump), sampled at "
            "24 (quick: 8) fixed standard normal inputs; measured with ReLU networks ending "
            "in the global average pool and a dense layer. f is scalar and its gradient is "
            "non-zero wherever some x[p] > x[p-1], so Rank_J = 1. Bottleneck: "
            "g(x) = f(x) * (1, ..., 1), the constant image, is equivariant (f is invariant), "
            "non-negative, and h = pool + identity recovers f, so k = (1, 0, ..., 0) and "
            "Rank_CBN <= 1; every factorisation of a non-constant f needs some k_m >= 1, so "
            "Rank_CBN = 1 = Rank_J and the sandwich forces R0 = 1 on the whole space. "
            "Construction: layer 1 the difference filter (c W[0] = 1, c W[1] = -1) and ReLU, "
            "layers 2..L-1 the projection onto the constant frequency (cost 1 each), then "
            "pool and dense weight 1; rescaling layer 1 by a and the dense layer by 1/a "
            "gives norm (L - 2) + 2 ||W_1|| = L + 2 sqrt(2 d) - 2. With biases the constant "
            "frequency counts through the affine span of ghat(x)[0] = f(x) sqrt(d), a line "
            "since f is not constant: the CBN rank with biases is 1 too."),
        spatial_shape=(d,), kind="data", activation="relu", head="avgpool",
        rank_j=1, rank_cbn=1, cbn_vector=_indicator((d,), [(0,)]), rank_cbn_bias=1,
        r0_interval=(1.0, 1.0),
        r0_source=("lower: Lipschitz bound (R / L >= (gamma Lambda^2)^(1/L) -> 1); upper: the "
                   "construction, norm L + 2 sqrt(2 d) - 2 (slope 1 by construction)"),
        default_width=4, quick_width=2, _data=data, _construction=pool_construction,
        _jacobians=S.upward_jumps_jacobians)


def _orbit_spec(name: str, title: str, description: str, signal: np.ndarray,
                freqs: list[tuple[int, ...]], rank_j: int) -> Spec:
    shape = signal.shape

    def data(quick: bool) -> tuple[np.ndarray, np.ndarray]:
        X = S.all_shifts(signal)
        return X, X.copy()

    vec = _indicator(shape, freqs)
    rank_bias = int(vec.sum()) - 1          # every shift has the same constant frequency
    return dict(name=name, title=title, description=description, spatial_shape=shape,
                kind="data", activation="relu", head=None, rank_j=rank_j,
                rank_cbn=int(vec.sum()), cbn_vector=vec, default_width=4, quick_width=2,
                rank_cbn_bias=rank_bias, r0_interval=(1.0, float(rank_bias)),
                r0_source=("lower: Lipschitz bound (R / L >= (gamma Lambda^2)^(1/L) -> 1; "
                           f"Rank_J = {rank_j} is the rank of the shift curve's Jacobian, not "
                           "a certified bound on finite data); upper: the bias-aware "
                           f"construction, norm {rank_bias} L + C with C bounded (slope "
                           "by construction)"),
                _data=data, _construction=lambda arch: orbit_construction(arch, signal, freqs),
                _bias_construction=lambda arch: bias_orbit_construction(arch, signal, freqs),
                _jacobians=S.shift_tangent_jacobians)


_ORBIT_ARGUMENT = (
    "Why Rank_CBN is exact: Omega is one orbit of the shift group G and has trivial "
    "stabiliser, so for an equivariant g the points g(x_t) = shift_t g(x_0) span, at each "
    "frequency m, the line through ghat(x_0)[m]: k_m = 1{ghat(x_0)[m] != 0}. Without "
    "biases a non-zero g >= 0 has a positive sum, so k_0 = 1; h(g(x_0)) = x_0 forces "
    "g(x_0) to have trivial stabiliser, i.e. the non-zero frequencies it uses must "
    "generate the dual group, and real signals use m and -m together. With a bias per "
    "channel the constant frequency counts through the affine span of ghat(x_t)[0], "
    "which is one point on an orbit: k_0 = 0 and the CBN rank with biases is one less "
    "(the bias-aware construction, middle layers projecting onto S \\ {0} with biases "
    "adding the constant back, reaches it). ")


def shift_autoencoder_1d() -> Spec:
    d = 12
    return _orbit_spec(
        "shift_autoencoder_1d", "shift autoencoder: all 12 circular shifts of a bump, f = id",
        "Omega = the 12 circular shifts of the bump b[p] = exp(-dist(p, 0)^2 / (2 * 1.5^2)) on "
        "Z_12, f = identity. Omega lies on the one-parameter curve of shifts, so the "
        "Jacobian of f restricted to its tangent (spanned by the derivative of the bump) "
        "has rank 1: Rank_J = 1. " + _ORBIT_ARGUMENT + "On Z_12 one pair {m, -m} with "
        "gcd(m, 12) = 1 generates the dual group and nothing smaller does (m = 6 has order "
        "2), so Rank_CBN = 3 with k = 1 at m = 0, +1, -1 (any m coprime to 12 gives another "
        "optimal vector). The phase of frequency 1 encodes the position.",
        S.bump((d,), 1.5), [(0,), (1,), (-1,)], rank_j=1)


def shift_autoencoder_2d() -> Spec:
    n = 6
    return _orbit_spec(
        "shift_autoencoder_2d", "shift autoencoder in 2D: all 36 shifts of a 6x6 bump, f = id",
        "Omega = the 36 circular shifts of the bump b[p] = exp(-|dist(p, 0)|^2 / (2 * 1.2^2)) "
        "on Z_6 x Z_6, f = identity. Two shift parameters: Rank_J = 2. " + _ORBIT_ARGUMENT
        + "The dual group Z_6 x Z_6 is not cyclic, so one pair {m, -m} cannot generate it, "
        "and a self-conjugate frequency (order <= 2) cannot complete a cyclic subgroup of "
        "order <= 6 to the 36 elements; two pairs suffice: Rank_CBN = 1 + 2 + 2 = 5 with "
        "k = 1 at (0, 0), (+-1, 0), (0, +-1).",
        S.bump((n, n), 1.2), [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)], rank_j=2)


def shape_pattern_1d() -> Spec:
    d, carrier = 16, 5
    return _orbit_spec(
        "shape_pattern_1d",
        "low-frequency bump times a frequency-5 pattern: all 16 shifts, f = id",
        "Omega = the 16 circular shifts of x_0[p] = b[p] cos(2 pi 5 p / 16), a bump of width "
        "2 (low frequencies) multiplied pixelwise by a high-frequency carrier; f = identity. "
        "The data energy sits at frequencies 5 +- 2 (and their conjugates). Rank_J = 1 (one "
        "shift parameter). " + _ORBIT_ARGUMENT + "As gcd(5, 16) = 1, the carrier pair "
        "{5, -5} generates the dual group: Rank_CBN = 3 with k = 1 at m = 0, +5, -5, the "
        "frequencies where the data already are (frequency 1 is another optimal choice; "
        "which one a trained network keeps is what T6 measures).",
        S.shape_times_pattern(d, 2.0, carrier), [(0,), (carrier,), (-carrier,)], rank_j=1)


# ---------------------------------------------------------------- scikit-learn digits
#: Classes of the digit classifier: three, so that a hidden width of 4 can carry the
#: two dimensions the affine dense head needs to reach three one-hot vectors (ten
#: classes would need width >= 9 before the pool, beyond this machine's solve budget).
DIGIT_CLASSES: tuple[int, ...] = (0, 1, 7)


def digits_classifier() -> Spec:
    def data(quick: bool) -> tuple[np.ndarray, np.ndarray]:
        images, labels = S.load_digits_images()
        keep = np.flatnonzero(np.isin(labels, DIGIT_CLASSES))
        idx = keep[S.balanced_subsample(labels[keep], 2 if quick else 8)]
        onehot = (labels[idx][:, None] == np.asarray(DIGIT_CLASSES)[None, :]).astype(float)
        return images[idx], onehot

    return dict(
        name="digits_classifier",
        title="8x8 digits 0/1/7 (scikit-learn), one-hot labels, avgpool head",
        description=(
            "A class-balanced sample of the 8x8 handwritten digits 0, 1 and 7 shipped with "
            "scikit-learn (24 images, quick: 6; pixels / 16), targets the one-hot labels "
            "(3 outputs), ReLU networks ending in the average pool and a dense layer. Three "
            "classes keep the problem interpolable at width 4 (the affine head needs 2 pooled "
            "dimensions for 3 one-hot vectors; ten classes would need 9). The labels are "
            "locally constant, and finite data define no Jacobian: Rank_J is not given. "
            "Bottleneck: the output is translation-invariant, so g(x) = t(x) * (1, ..., 1) "
            "with a non-negative scalar code t that separates the classes is equivariant on "
            "Omega (no image of the sample is a shift of another); on constant images the "
            "convolutions act as dense layers, so h = a ReLU MLP on the channel vector "
            "mapping the codes to the one-hot labels, then the pool and the dense layer: "
            "k = (1 at m = 0), Rank_CBN = 1, "
            "the least possible for a non-constant f. This value relies on the existence "
            "of such g and h (no explicit network is built)."),
        spatial_shape=(8, 8), kind="data", activation="relu", head="avgpool",
        rank_j=None, rank_cbn=1, cbn_vector=_indicator((8, 8), [(0, 0)]), rank_cbn_bias=1,
        r0_interval=(1.0, 1.0),
        r0_source=("lower: Lipschitz bound (-> 1); upper: the existence of g and h (CBN rank "
                   "1, with or without biases: the codes vary, so their affine span is a "
                   "line); no network is built"),
        out_channels=len(DIGIT_CLASSES), default_width=8, quick_width=4, _data=data)


def digits_autoencoder() -> Spec:
    def data(quick: bool) -> tuple[np.ndarray, np.ndarray]:
        images, labels = S.load_digits_images()
        idx = S.balanced_subsample(labels, 1 if quick else 5)
        return images[idx], images[idx].copy()

    return dict(
        name="digits_autoencoder", title="8x8 digits (scikit-learn) autoencoder, f = id",
        description=(
            "A class-balanced sample of the scikit-learn 8x8 digits (50 images, quick: 10; "
            "pixels / 16), f = identity. Finite data define no Jacobian: Rank_J is not given. "
            "CBN rank: no image is fixed by a non-zero shift and no two are shifts of each "
            "other, so the orbit argument applies image by image: each g(x_i) must use "
            "frequencies generating the dual group Z_8 x Z_8 (at least two conjugate pairs) "
            "plus the constant, and one channel carrying 0, (+-1, 0), (0, +-1) with a "
            "different offset per image keeps the images apart; a decoder h exists because "
            "the g(x_i) lie on distinct free orbits. Rank_CBN = 5, k = 1 at (0, 0), (+-1, 0), "
            "(0, +-1), derived from the existence of h (no explicit network is built). With "
            "biases the constant need not vary: the pairs (a_i, b_i) of coefficients at "
            "(1, 0) and (0, 1) can differ between images up to the phases of the shifts, so "
            "a common constant keeps the orbits apart and the CBN rank with biases is 4."),
        spatial_shape=(8, 8), kind="data", activation="relu", head=None,
        rank_j=None, rank_cbn=5,
        cbn_vector=_indicator((8, 8), [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)]),
        rank_cbn_bias=4, r0_interval=(1.0, 4.0),
        r0_source=("lower: Lipschitz bound (-> 1); upper: the existence of g and h (CBN rank "
                   "with biases 4: the images stay apart through the non-zero frequencies, "
                   "so one common constant suffices); no network is built"),
        default_width=8, quick_width=4, _data=data)


FACTORIES: tuple[Callable[[], Spec], ...] = (
    bandlimited_1d, bandlimited_2d, mixer_1d, mixer_2d, cosine_filter_1d, smooth_mixer_2d,
    gaussian_blur_2d, invariant_pool,
    shift_autoencoder_1d, shift_autoencoder_2d, shape_pattern_1d,
    digits_classifier, digits_autoencoder)
