# %% [markdown]
# # Tutorial 3 — Exact two-layer minimal norms against deep ones
#
# For deep ReLU networks the minimal norm `R(f; Omega, L)` is a non-convex problem: a solver
# gives upper bounds, and lower bounds come from inequalities. Two layers are different:
# Pilanci & Ergen (2020) — and Ergen & Pilanci (2021) for CNNs — showed that the minimal
# norm of a two-layer ReLU network (any number of hidden units) that interpolates finite
# data equals the optimum of a **convex** program, a group lasso over the activation
# patterns the data can produce. Enumerating the patterns gives the exact value.
#
# This tutorial computes that exact value, checks it against a closed form (Savarese et
# al. 2019) and against a non-convex solver, and then moves to deeper networks, where only
# an interval is known and the slope of `R` against `L` takes over. Set
# `CBN_TUTORIAL_QUICK=1` for a short run; every computed claim is checked by an `assert`.

# %%
import os

import numpy as np

import cbntheory as cbn
from cbntheory.convex import two_layer_min_norm
from cbntheory.theory.lipschitz import lipschitz_lower_bound

QUICK = os.environ.get("CBN_TUTORIAL_QUICK", "") not in ("", "0")
TIME_LIMIT = 4.0 if QUICK else 30.0

# %% [markdown]
# ## 1. One input, one output: a closed form
#
# With a single pixel, a two-layer network `x -> v^T relu(w x + b) + b_out` is a univariate
# ReLU network. With free biases, Savarese et al. showed that the minimal
# `sum_j (w_j^2 + v_j^2)` equals `2 max(int |f''|, |f'(-inf) + f'(+inf)|)` for the best
# interpolant. Three points `(-1, 1), (0, 0), (1, 1)`: the interpolant `|x|` has one kink of
# size 2 and outer slopes `-1, +1`, so the value is `2 * max(2, 0) = 4`.

# %%
arch1 = cbn.Architecture((1,), (1, 2, 1), head="avgpool", penalize_bias=False)
X1 = np.array([-1.0, 0.0, 1.0]).reshape(3, 1, 1)
Y1 = np.array([[1.0], [0.0], [1.0]])
res1 = two_layer_min_norm(arch1, X1, Y1)
print(f"convex value {res1.value:.6f} (status {res1.status}, exact {res1.exact})")
assert res1.exact and abs(res1.value - 4.0) < 1e-6
assert np.allclose(res1.network(X1), Y1, atol=1e-6)

# %% [markdown]
# ## 2. A small CNN: exact convex value against a non-convex solver
#
# Now 3-pixel signals, full-size filters, the average-pool head and penalised biases. The
# convex program enumerates every activation pattern of the data's patches (a few hundred
# here) and returns the exact minimum over any width, with a network attaining it. The
# non-convex solver (`cbn.minimal_norm`, an augmented Lagrangian from random starts, with 4
# hidden channels) can only land above it — this is the anchor check PE2020 of
# `cbn check`.

# %%
rng = np.random.default_rng(0)
arch2 = cbn.Architecture((3,), (1, 4, 1), head="avgpool")
X2 = rng.standard_normal((4, 1, 3))
Y2 = rng.standard_normal((4, 1))
exact = two_layer_min_norm(arch2, X2, Y2)
print(f"exact two-layer minimal norm {exact.value:.4f} with "
      f"{exact.network.architecture.channels[1]} hidden channels ({exact.status})")
assert exact.exact and exact.status == "optimal"
assert np.linalg.norm(exact.network(X2) - Y2) <= 1e-6 * np.linalg.norm(Y2)
assert np.isclose(exact.network.param_norm(), exact.value, rtol=1e-6)

local = cbn.minimal_norm(arch2, data=(X2, Y2), rng=0, time_limit=TIME_LIMIT)
fits = (local.network is not None          # None when no start reached the tolerance
        and np.linalg.norm(local.network(X2) - Y2) <= 1e-6 * np.linalg.norm(Y2))
print(f"non-convex solver: {local.upper:.4f} ({local.status}, reproduces the data: {fits})")
if fits:
    assert local.upper >= exact.value * (1 - 1e-5)

# the Lipschitz lower bound holds for every depth and width; at L = 2 it is far below
low2 = lipschitz_lower_bound(arch2, X2, Y2).value
assert low2 <= exact.value
print(f"Lipschitz lower bound at L = 2: {low2:.4f}")

# %% [markdown]
# ## 3. Deeper: intervals, and the slope of `R` against `L`
#
# Beyond two layers the convex reformulation is gone. For a translation-invariant target
# through the average-pool head — the mean upward jump `f(x) = mean_p relu(x[p] - x[p-1])`
# on 8 pixels — `cbn.targets` derives `Rank_J = Rank_CBN = 1`: a bottleneck carrying one
# constant channel suffices. So the theory predicts `R(f; L) ~ L`. We bracket `R` at each
# depth by the Lipschitz lower bound and the best of two upper bounds: the explicit CBN
# construction (norm exactly `L + C`) and the solver.

# %%
pool = cbn.targets.get("invariant_pool")
data = pool.data(quick=True)
assert data is not None and pool.rank_cbn is not None
Xp, Yp = data
rank_cbn = pool.rank_cbn


def construction_norm(L):
    con = pool.construction(L, quick=QUICK)
    assert con is not None                 # the invariant pool has an explicit construction
    return con.norm


depths = (2, 3) if QUICK else (2, 3, 4, 6, 8)
rows = []
for L in depths:
    archL = pool.architecture(L, quick=QUICK)
    low = lipschitz_lower_bound(archL, Xp, Yp).value
    con = construction_norm(L)
    sol = cbn.minimal_norm(archL, data=(Xp, Yp), rng=0, time_limit=TIME_LIMIT)
    ok = (sol.network is not None           # no network when the solver failed
          and np.linalg.norm(sol.network(Xp) - Yp) <= 1e-6 * np.linalg.norm(Yp))
    up = min(con, sol.upper) if ok else con
    rows.append((L, low, up))
    print(f"L = {L}: {low:7.3f} <= R <= {up:7.3f}   (construction {con:.3f}, solver "
          f"{sol.upper:.3f} {'ok' if ok else 'rejected'})")
    assert low <= up
cons = [construction_norm(L) for L in depths]
assert np.allclose(np.diff(cons), rank_cbn * np.diff(depths))   # slope Rank_CBN = 1

# %% [markdown]
# The construction's norm is exactly `L + C` (`Rank_CBN = 1` per layer). The lower bound
# `L (gamma Lambda^2)^(1/L)` is at least `L + log(gamma Lambda^2)` (from `e^t >= 1 + t`):
# so `R(f; L) - L` is pinned in `[log(gamma Lambda^2), C]` at every depth, `R0 = 1`
# follows from both sides, and the interval's width stays below `C - log(gamma Lambda^2)`
# while `R` grows linearly. At `L = 2`, the convex program (if the patterns can be
# enumerated) closes the interval entirely; for this target there are too many patterns,
# and a sample of them gives another upper bound (the report uses it).

# %%
bound = lipschitz_lower_bound(pool.architecture(2, quick=QUICK), Xp, Yp)
log_term = np.log(bound.gamma * bound.lipschitz ** 2)
C = cons[0] - depths[0] * rank_cbn
for (L, low, up) in rows:
    assert low >= L + log_term - 1e-9 and up - L <= C + 1e-9
    assert up - low <= C - log_term + 1e-9
print(f"R(f; L) - L lies in [{log_term:.3f}, {C:.3f}] at every depth")

# %% [markdown]
# ## Exercises
#
# 1. In section 2, give the non-convex solver more restarts (`restarts=5`): how close does
#    it get to the exact value? Try `penalize_bias=False`.
# 2. Replace `patterns="enumerate"` by `patterns="sample", n_patterns=20` in section 2:
#    the value becomes an upper bound. How many samples are needed to find the optimum?
# 3. Run `cbn table invariant_pool --depths 2-8` and compare the fitted slope with
#    `Rank_J` and `Rank_CBN`.
