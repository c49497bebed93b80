# %% [markdown]
# # Tutorial 1 — Linear CNNs in Fourier, and the Schatten cost of depth
#
# A convolutional layer on periodic images is a *translation-equivariant* linear map.
# Every such map becomes block-diagonal in the Fourier basis: one small matrix per
# frequency. This tutorial uses that fact to answer exactly a question that is hard for
# general networks: **what is the smallest parameter norm `sum_l ||W_l||_F^2` of a
# depth-`L` linear CNN that computes a given convolution `A`?** (statement T1 of
# docs/theory.md). The answer explains why deep networks prefer few frequencies.
#
# Run it as a script (`python docs/tutorials/01_linear_cnns_in_fourier.py`) or cell by cell
# in an editor that understands `# %%`. Set `CBN_TUTORIAL_QUICK=1` for a shorter run (the
# test suite does). Every claim computed below is checked by an `assert`.

# %%
import os

import numpy as np

import cbntheory as cbn

QUICK = os.environ.get("CBN_TUTORIAL_QUICK", "") not in ("", "0")
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. Convolution on the cyclic group, and its frequency blocks
#
# Pixels live on `Z_d`. A layer with `C_in -> C_out` channels has a full-size kernel
# `W` of shape `(C_out, C_in, d)` and computes `(W * z)[p] = c sum_q W[q] z[p - q]` with
# `c = 1/sqrt(d)` ("operator normalisation": then `||W||_F` is the Frobenius norm of the
# linear map). Writing the map as a dense `(C_out d) x (C_in d)` matrix hides its structure.
# The discrete Fourier transform reveals it: frequency `m` of the output only depends on
# frequency `m` of the input, through the block `A_m = c What[m]` of size `C_out x C_in`.

# %%
d, c_in, c_out = 8, 2, 3
W = rng.standard_normal((c_out, c_in, d))
A = cbn.ConvOperator.from_kernel(W)

# the dense matrix, built straight from the definition (loops over channels and pixels)
c = 1 / np.sqrt(d)
M = np.zeros((c_out * d, c_in * d))
for o in range(c_out):
    for i in range(c_in):
        for p in range(d):
            for q in range(d):
                M[o * d + p, i * d + q] = c * W[o, i, (p - q) % d]
assert np.allclose(M, A.to_matrix())

# the frequency blocks: c times the DFT of the kernel along the pixel axis
blocks = c * np.moveaxis(np.fft.fft(W, axis=-1), -1, 0)        # (d, C_out, C_in)
assert np.allclose(blocks, A.blocks)

# the convolution theorem: convolve, then transform == transform, then multiply by A_m
x = rng.standard_normal((1, c_in, d))
lhs = np.fft.fft(A.apply(x), axis=-1)[0]                        # (C_out, d)
rhs = np.einsum("moi,im->om", blocks, np.fft.fft(x[0], axis=-1))
assert np.allclose(lhs, rhs)

# %% [markdown]
# Because the DFT is (up to a factor) unitary, the singular values of the dense matrix are
# exactly the union over `m` of the singular values of the blocks `A_m`: one `3 x 2` SVD per
# frequency replaces one `24 x 16` SVD. Real kernels give conjugate blocks at `m` and `-m`,
# so their singular values come in pairs (except at the self-conjugate frequencies 0 and
# `d/2`).

# %%
s_dense = np.sort(np.linalg.svd(M, compute_uv=False))[::-1]
s_blocks = np.sort(np.linalg.svd(blocks, compute_uv=False).ravel())[::-1]
assert np.allclose(s_dense, s_blocks)
assert np.allclose(np.linalg.svd(blocks[1], compute_uv=False),
                   np.linalg.svd(blocks[d - 1], compute_uv=False))     # m and -m
print("singular values of A, by frequency:")
for m in range(d):
    print(f"  m = {m}: {np.round(np.linalg.svd(blocks[m], compute_uv=False), 3)}")

# %% [markdown]
# ## 2. The cost of depth: a Schatten quasi-norm
#
# Compose `L` layers. Per frequency, the product of the `L` blocks must equal `A_m`. For a
# scalar `s` the cheapest way to write `s = w_1 ... w_L` is to balance: `w_l = s^(1/L)`,
# costing `L s^(2/L)` (AM-GM). For matrices, Horn's inequalities give the same answer on
# the singular values, so (T1):
#
#     R(A; L) = (L / (d c^2)) sum_m sum_i s_i(A_m)^(2/L) = L sum_m ||A_m||_{S_{2/L}}^{2/L}
#
# (the factor `1/(d c^2)` is 1 with the operator normalisation). `L = 1` gives the squared
# Frobenius norm, `L = 2` the nuclear norm (sum of singular values): a convex cost. For
# `L >= 3` the exponent `2/L < 1` makes the cost a Schatten *quasi*-norm that rewards
# zero singular values, i.e. maps that use few (frequency, direction) pairs.

# %%
def t1_by_hand(blocks, L):
    s = np.linalg.svd(blocks, compute_uv=False).ravel()
    s = s[s > 1e-12 * s.max()]
    return L * np.sum(s ** (2.0 / L))


for L in (1, 2, 3, 8):
    cost = cbn.linear_cost(A, L)
    assert np.isclose(cost.value, t1_by_hand(blocks, L))
assert np.isclose(cbn.linear_cost(A, 1).value, np.sum(W ** 2))          # L = 1: ||W||_F^2
nuclear = sum(np.linalg.svd(b, compute_uv=False).sum() for b in blocks)
assert np.isclose(cbn.linear_cost(A, 2).value, 2 * nuclear)              # L = 2: nuclear

# %% [markdown]
# The minimum is attained: the *balanced factorisation* splits every `A_m = U S V^H` into
# `L` real-kernel layers `S^(1/L) V^H, S^(1/L), ..., U S^(1/L)`. A naive factorisation —
# the whole map in the first layer, identities after it — computes the same `A` at a much
# higher cost, because every identity layer pays for every frequency and channel.

# %%
L = 4
layers = cbn.balanced_factorization(A, L)
product = layers[0]
for layer in layers[1:]:
    product = layer @ product
assert np.allclose(product.kernel, A.kernel)
balanced = sum(layer.param_norm() for layer in layers)
assert np.isclose(balanced, cbn.linear_cost(A, L).value)

identity = np.zeros((c_out, c_out, d))
identity[:, :, 0] = np.eye(c_out) * np.sqrt(d)         # kernel of the identity map (c = 1/sqrt d)
naive = np.sum(W ** 2) + (L - 1) * np.sum(identity ** 2)
print(f"L = {L}: balanced {balanced:.3f} < naive {naive:.3f}")
assert balanced < naive

# %% [markdown]
# ## 3. Large depth: `R = L R0 + R1 + R2/L + ...`
#
# Expanding `L s^(2/L) = L + 2 log s + (2/L)(log s)^2 + O(1/L^2)` for every non-zero
# singular value splits the cost into a term linear in depth and corrections:
#
# * `R0 = sum_m rank A_m` — the number of (frequency, direction) pairs the map uses: the
#   **CBN rank** of a linear map (its vector `k_m = rank A_m` says which frequencies);
# * `R1 = 2 sum_m log|A_m|_+` (log pseudo-determinant) — regularity;
# * `R2 = 2 sum_m sum_i (log s_i)^2`.
#
# So for deep networks the cost per layer `R/L` tends to the CBN rank: depth makes the
# network pay per kept frequency direction, whatever its size. The remainder of the
# truncated expansion decays like `1/L^2`.

# %%
depths = range(1, 9) if QUICK else range(1, 33)
cost8 = cbn.linear_cost(A, 8)
print(f"R0 = {cost8.r0:g} ({cost8.describe()}), R1 = {cost8.r1:.4f}, R2 = {cost8.r2:.4f}")
errors = []
for L in depths:
    cost = cbn.linear_cost(A, L)
    errors.append(abs(cost.value - cost.expansion(L)))
    print(f"L = {L:2d}: R/L = {cost.value / L:8.4f}   R - (L R0 + R1 + R2/L) = "
          f"{cost.value - cost.expansion(L):+.2e}")
assert cost8.r0 == np.linalg.matrix_rank(M)                    # R0 = rank of the dense map
scaled = np.array(errors) * np.array(list(depths), dtype=float) ** 2
assert np.all(scaled[2:] <= scaled[2] * 1.01)                  # the remainder is O(1/L^2)

# %% [markdown]
# ## 4. One channel: the bridge penalty on Fourier coefficients
#
# With one input and one output channel every block is a number `a_m` and
# `R = L sum_m |a_m|^(2/L)`: the `l_{2/L}` "bridge" penalty of Gunasekar et al. (2018) on
# the Fourier coefficients. For `L >= 3` it is sparsity-promoting: a filter with fewer
# non-zero frequencies is cheaper, even if its coefficients are larger.

# %%
pix = np.arange(16)
two_freqs = 3.0 * np.cos(2 * np.pi * pix / 16)                      # frequencies +-1 only
many = np.exp(-0.5 * (np.minimum(pix, 16 - pix) / 1.0) ** 2) * 1.2  # a blur: every frequency
f_two = cbn.ConvOperator(two_freqs.reshape(1, 1, 16))
f_many = cbn.ConvOperator(many.reshape(1, 1, 16))
for L in (1, 2, 6):
    a = f_two.blocks[:, 0, 0]
    assert np.isclose(cbn.linear_cost(f_two, L).value,
                      L * np.sum(np.abs(a[np.abs(a) > 1e-12]) ** (2 / L)))
small, big = cbn.linear_cost(f_two, 1).value, cbn.linear_cost(f_many, 1).value
deep_two, deep_many = cbn.linear_cost(f_two, 12).value, cbn.linear_cost(f_many, 12).value
print(f"L = 1: two frequencies {small:.2f} vs blur {big:.2f}; "
      f"L = 12: {deep_two:.2f} vs {deep_many:.2f}")
assert small > big and deep_two < deep_many        # depth flips the preference

# %% [markdown]
# ## 5. Which frequencies? The CBN rank vector of a built-in target
#
# `cbn.targets` holds documented targets with derived ranks. The low-rank channel mixer
# keeps a few frequencies and mixes channels through a rank-deficient matrix; its CBN rank
# vector `k_m` is read off the block ranks, and `cbn cost` / `cbn table` print the same
# numbers from the command line.

# %%
mixer = cbn.targets.get("mixer_1d")
Am = mixer.operator()
assert Am is not None and mixer.cbn_vector is not None     # a linear target has both
cost = cbn.linear_cost(Am, 6)
print(f"{mixer.name}: Rank_CBN = {mixer.rank_cbn} = {cost.describe()}")
assert int(cost.r0) == mixer.rank_cbn
assert np.array_equal(cost.cbn_rank, mixer.cbn_vector)
ranks = [np.linalg.matrix_rank(b, tol=1e-9) for b in Am.blocks]
assert ranks == list(cost.cbn_rank)

# %% [markdown]
# ## Exercises
#
# 1. Make a filter whose blocks have one tiny singular value (`1e-6`). How does its cost
#    compare with the same filter with that value set to 0, at `L = 2` and `L = 30`? Which
#    term of the expansion carries the difference?
# 2. Show that `R(A; L)` is invariant under circular shifts of the kernel (a shift multiplies
#    every block by a phase) and check it numerically.
# 3. With `normalization="plain"` (`c = 1`), where does the factor `1/(d c^2)` go? Check T1.
