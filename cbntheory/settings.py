"""Named numerical tolerances of cbntheory, one place for all of them.

Every routine that compares floating-point numbers takes ``rtol=``/``atol=``
arguments whose defaults come from here, so that a user can see (and a test can
cite) the exact threshold behind every verdict.  Each constant carries the
reason it has the value it has.
"""
from __future__ import annotations

import numpy as np

#: Machine epsilon of float64; the unit in which the other tolerances are expressed.
EPS: float = float(np.finfo(np.float64).eps)

#: Singular values at or below ``RANK_RTOL_FACTOR * eps * n * s_max`` count as zero,
#: where ``n`` is the larger side of the dense operator matrix (``d * max(C_out, C_in)``)
#: and ``s_max`` the largest singular value over all frequencies.  This is exactly the
#: threshold ``numpy.linalg.matrix_rank`` applies to the dense operator, so the
#: per-frequency rank never disagrees with the rank of the dense matrix.
RANK_RTOL_FACTOR: float = 1.0

#: Relative residual ``||M - M_equivariant||_F / ||M||_F`` above which a dense
#: matrix is refused as not translation-equivariant.  A few hundred ulps: matrices
#: assembled by hand from a kernel reach ~1e-16, anything genuinely non-equivariant
#: is far above.
EQUIVARIANCE_RTOL: float = 1e-10

#: Largest relative imaginary part tolerated when a real kernel is recovered from
#: frequency blocks (conjugate symmetry holds only up to round-off).
REALNESS_RTOL: float = 1e-9

#: Relative interpolation residual ``||f_theta(X) - Y|| / ||Y||`` under which a network
#: is said to reproduce the data (the ``tol`` of :func:`cbntheory.minimal_norm`).
FIT_RTOL: float = 1e-6

#: Relative residual a network behind an upper bound must reach after the exact
#: finishing of its last layer (:mod:`cbntheory.solvers.exact_fit`): round-off of a
#: least-squares solve in float64 (~1e-15) times a margin of 1e3 for the conditioning
#: of the penultimate features.
EXACT_FIT_RTOL: float = 1e-12

#: Relative residual of the least-squares fit above which finite data are declared
#: infeasible for an equivariant linear map: well above round-off of the per-frequency
#: least-squares solves, well below any genuine inconsistency in test problems.
FEASIBILITY_RTOL: float = 1e-8

#: Round-off margin, in units of machine epsilon, subtracted from the certified least
#: residual that the width of the last layer leaves
#: (:func:`cbntheory.solvers.certificates.last_layer_residual`): the orthonormal DFT and
#: the SVD of each block are backward stable, so their error is a few eps of ``||Y||``;
#: 1e3 eps (2.2e-13 relative) is far above that and far below any tolerance of a fit.
FOLDED_RANK_ROUNDOFF: float = 1e3

#: Relative disagreement between a solver's reported objective and the objective
#: recomputed in numpy from the returned weights above which "optimal" is downgraded.
OBJECTIVE_RTOL: float = 1e-5

#: Absolute/relative accuracy requested from conic solvers (Clarabel, SCS): tight
#: enough that re-verification in numpy passes with ``OBJECTIVE_RTOL``.
CONIC_EPS: float = 1e-9

#: Relative gap ``(upper - lower) / max(1, |upper|)`` under which a certified interval
#: is considered closed (status "optimal" rather than "not_certified").
GAP_RTOL: float = 1e-6

#: Relative tolerance for "holds" verdicts of exact inequalities: a margin above
#: ``-INEQUALITY_RTOL * max(1, |side|)`` is attributed to round-off.
INEQUALITY_RTOL: float = 1e-9

#: Relative deviation ``||x - mean_p x|| / ||x||`` under which an input counts as constant
#: over pixels (translation-invariant) in ``Network.jacobian_blocks``: a few ulps of an
#: array filled with one value per channel, far below any genuine spatial variation.
TRANSLATION_INVARIANCE_RTOL: float = 1e-12


def rank_tolerance(s_max: float, n: int, rtol: float | None = None) -> float:
    """Absolute threshold below which a singular value counts as zero.

    Parameters
    ----------
    s_max : float
        Largest singular value of the operator (over all frequencies).
    n : int
        Larger side of the dense operator matrix, ``d * max(C_out, C_in)``.
    rtol : float, optional
        Relative tolerance; defaults to ``RANK_RTOL_FACTOR * EPS * n``.

    Returns
    -------
    float
        ``rtol * s_max``.

    Examples
    --------
    >>> tol = rank_tolerance(2.0, 10)
    >>> bool(abs(tol - 20 * EPS) < 1e-30)
    True
    """
    from . import _validate as V  # the one numeric-option rule (issue 14)

    rtol = V.optional_rtol("rtol", rtol)
    if rtol is None:
        rtol = RANK_RTOL_FACTOR * EPS * n
    return float(rtol) * float(s_max)


# --- solvers: numerical route, augmented Lagrangian, projection ---------------------------

#: Singular values of a least-norm map fitted to floating-point data at or below
#: ``DATA_RANK_RTOL * s_max`` count as zero in the minimal-norm certificates: data
#: rounded to float64 cannot determine them (the least-squares solve alone perturbs
#: them by ~eps * cond(X)), yet at depth L each would add L s^(2/L) to the cost.
DATA_RANK_RTOL: float = 1e-10

#: The augmented-Lagrangian solver aims at a relative residual of ``AL_FEAS_FACTOR * tol``
#: so that the returned network meets ``tol`` with margin and its norm is accurate to
#: about the same relative order.
AL_FEAS_FACTOR: float = 1e-3

#: Relative change of the objective over one multiplier update under which the
#: augmented Lagrangian has settled (well below GAP_RTOL, so a converged run can close
#: a certified interval).
AL_OBJ_RTOL: float = 1e-10

#: Initial penalty of the augmented Lagrangian relative to max(1, ||theta||^2): large
#: enough that the residual barrier keeps weak directions from collapsing (see
#: cbntheory.solvers.augmented.minimize_norm_subject_to), small enough to keep L-BFGS well
#: conditioned.
AL_RHO: float = 1000.0

#: L-BFGS-B iteration budget per restart of the numerical minimal-norm solver.
AL_MAX_ITER: int = 50_000

#: Defaults of the augmented-Lagrangian minimiser for a caller that sets none (the
#: minimal-norm routes derive their own from ``tol``): a residual near round-off, a
#: settled objective, a phase-1 fit good enough to start the penalty phase from.
AL_DEFAULT_FEAS_TOL: float = 1e-9
AL_DEFAULT_OBJ_RTOL: float = 1e-11
AL_DEFAULT_FIT_TOL: float = 1e-3

#: First inner solve's gradient tolerance (relative), divided by 10 after each multiplier
#: update: inexact early solves save iterations the next update would undo.
AL_INNER_GTOL: float = 1e-2

#: Phase 1 of the minimiser: relative noise added to a stalled fit, how often at most, and
#: the iterations over which a stall (less than 20 % progress) is judged.
AL_PERTURB: float = 0.1
AL_MAX_PERTURB: int = 20
AL_STALL_WINDOW: int = 100

#: Share of an augmented-Lagrangian run's budgets kept for its final least-squares polish.
AL_POLISH_RESERVE: float = 0.15
#: A fit whose ``||r||^2`` keeps more than this fraction over the stall window has stalled.
AL_STALL_RATIO: float = 0.8
#: A fit ending above this multiple of ``fit_tol`` failed (saddle or spurious minimum).
AL_FIT_FAILED_FACTOR: float = 10.0
#: An inner solve multiplying the residual by more than this fell into a trap: undone.
AL_COLLAPSE_FACTOR: float = 10.0
#: Updates in a row without halving the residual before a restart with a stiffer penalty.
AL_STUCK_UPDATES: int = 3
#: Penalty growth since the start after which the run restarts the same way.
AL_MU_GROWTH: float = 1e6
#: The penalty grows tenfold when an update keeps more than this fraction of the residual.
AL_PROGRESS_RATIO: float = 0.25
#: Floor of the inner gradient tolerance (relative): about the gradient's own accuracy.
AL_GTOL_FLOOR: float = 1e-12
#: Rebalancing stops at a Newton decrement below this fraction of the norm (a few ulps).
REBALANCE_DECREMENT_RTOL: float = 1e-15
#: Smallest step of the rebalancing's halving line search before it gives up.
REBALANCE_MIN_STEP: float = 1e-10
#: Sufficient-decrease (Armijo) constant of that line search.
REBALANCE_ARMIJO: float = 0.25
#: Initial projection damping relative to the mean diagonal of ``J J^T``: near Gauss-Newton.
PROJECT_DAMPING: float = 1e-10
#: Smallest damping after a successful step (keeps a singular ``J J^T`` solvable).
PROJECT_DAMPING_MIN: float = 1e-14
#: Damping increases (x10 each) tried per projection step, up to about gradient descent.
PROJECT_DAMPING_TRIES: int = 12
#: Jacobians of one Gauss-Newton projection, at most.  From the end of a one-stage
#: annealing (relative residual 3e-2 to 1e-1 on the ReLU benchmark) the accepted
#: damped steps keep 80-90 % of the residual each, until the last two or three converge
#: quadratically: 4-7 steps on the benchmark's seed 0, 15-25 on seed 1.
PROJECT_MAX_STEPS: int = 40
#: The projection gives up after PROJECT_STALL_STEPS Jacobians in a row that each keep
#: more than PROJECT_STALL_RATIO of the residual (a point where the data cannot be fitted
#: locally: on a small problem, 40 steps took the residual from 8.0e-4 only to 7.2e-4).
PROJECT_STALL_STEPS: int = 3
PROJECT_STALL_RATIO: float = 0.95
#: Above this relative residual the projection's ``J J^T`` is float32 (0.18-0.26 s
#: against 0.29-0.37 s for one linearisation on the ReLU benchmark).  The steps accepted
#: there are damped, so the solve's error is far below the linear model's; the last
#: steps, near the data, are float64.
PROJECT_FLOAT32_ABOVE: float = 1e-3


# --- the object R_eps: fits within a relative residual epsilon (issue 11) ----------------
#: Bisection steps (in log mu) of the depth-1 R_eps program: 200 halvings of a range of at
#: most ~1e600 in log scale reach the multiplier to round-off.
EPSILON_BISECTION_STEPS: int = 200
#: The depth-1 R_eps network aims at (1 - this) times the residual allowed, so that its
#: forward pass, recomputed in numpy, stays within epsilon despite round-off.
EPSILON_AIM_MARGIN: float = 1e-9
#: Largest dense parameter Jacobian (outputs x parameters) the depth-1 R_eps program builds
#: (8e7 entries: 640 MB).
EPSILON_DENSE_MAX_ENTRIES: int = 80_000_000

# --- ReLU minimal-norm solver (cbntheory.solvers.relu) ------------------------------------

#: Seconds per restart of the ReLU solver: with AL_MAX_ITER it guarantees that a width that
#: cannot interpolate ends in a status, not an endless run (small problems take seconds).
RELU_TIME_LIMIT: float = 600.0

#: Samples at which the conditional T2 bound of a target network is evaluated: each costs a
#: dense Jacobian, and the bound is a maximum over points, so a few suffice.
T2_MAX_POINTS: int = 8

#: Largest dense Jacobian (entries) assembled for that bound: 4e6 float64 = 32 MB.
T2_MAX_JACOBIAN_ENTRIES: int = 4_000_000

#: A sample where some pre-activation of the target is within this fraction of the
#: layer's largest is treated as a kink (the target may not be differentiable there).
T2_PREACTIVATION_RTOL: float = 1e-9

#: Relative size of the He noise added to the identity middle layers of the "identity"
#: start: enough to break the symmetry between channels, small enough to keep the deep
#: network close to a two-layer one (after 60 s on the d = 16, depth-12 benchmark, one seed:
#: norm 637 with 0.1, 691 with 0.0, 667 with 1.0, 1058 from the plain Gaussian start).
IDENTITY_INIT_NOISE: float = 0.1

#: Share of each restart's time budget held back for the Gauss-Newton projection onto the
#: data (cbntheory.solvers.projection): on the depth-12 benchmark one step costs 1-3 s and two or
#: three steps take the augmented Lagrangian's residual (~1e-4 when stopped by the clock)
#: below 1e-8.
RELU_PROJECT_RESERVE: float = 0.2

#: The projection aims at ``tol * RELU_PROJECT_MARGIN``, so the verified residual keeps a
#: margin below ``tol`` (Gauss-Newton converges quadratically: the margin costs ~1 step).
RELU_PROJECT_MARGIN: float = 1e-2

#: Largest dense parameter Jacobian (rows x free parameters) the projection assembles:
#: 2e7 float64 = 160 MB; larger problems skip the projection.
RELU_PROJECT_MAX_ENTRIES: int = 20_000_000


# --- convex two-layer programs (backends.conic, solvers.convex, the cbn.convex door) ------

#: Conic solvers tried in this order when none is named: the interior-point Clarabel
#: reaches CONIC_EPS reliably; the first-order SCS is the fallback when Clarabel fails.
CONIC_SOLVERS: tuple[str, ...] = ("CLARABEL", "SCS")

#: Iteration cap of SCS: first-order, it needs many iterations to reach CONIC_EPS.
SCS_MAX_ITERS: int = 200_000

#: Accuracy requested from Clarabel when the caller gives none: on the two-layer programs
#: its double-precision KKT solves stall near 1e-9 and then report "almost solved" with
#: the very iterate they report "optimal" at 1e-8; the dual certificate, recomputed in
#: numpy, measures the accuracy actually reached.
CLARABEL_EPS: float = 1e-8

#: Two patch vectors whose unit directions differ by less than this (up to sign) define
#: the same hyperplane: integer data give exact duplicates (~1e-16), generic data ~1.
PATTERN_PARALLEL_ATOL: float = 1e-10

#: ``|<ray, h>| <= PATTERN_ZERO_ATOL`` (unit vectors) puts a ray on the hyperplane of h:
#: exact incidences of degenerate (integer) data sit at round-off, ~1e-15.
PATTERN_ZERO_ATOL: float = 1e-9

#: ``r - 1`` unit normals whose smallest singular value is below this are dependent and
#: define no ray (their null space has dimension >= 2).
PATTERN_RANK_ATOL: float = 1e-9

#: Default cap on the number of enumerated activation patterns: beyond a few thousand
#: the group-lasso program (patterns x hyperplanes cone rows) takes minutes.
MAX_PATTERNS: int = 5000

#: Cap on the (r-1)-subsets of hyperplanes examined by the ray enumeration (the work of
#: the enumeration): refuse rather than hang.
MAX_RAY_SUBSETS: int = 2_000_000

#: Blocks of the group-lasso solution with norm below this fraction of the largest block
#: are interior-point residue (~CONIC_EPS) and get no hidden channel.
ACTIVE_BLOCK_RTOL: float = 1e-7

#: Above this many enumerated patterns the convex two-layer program is solved by a
#: working set (column generation): one interior-point solve over thousands of mostly
#: zero blocks stalls short of CONIC_EPS, small programs do not.
WORKING_SET_MIN_PATTERNS: int = 300


#: Dual violation ``kappa_D - 1`` that adds a pattern: a tenth of GAP_RTOL, so the gap closes.
WORKING_SET_VIOLATION: float = GAP_RTOL / 10
#: Clarabel's iteration cap: interior point needs tens of iterations; this stops a stall.
CLARABEL_MAX_ITER: int = 500
#: Decimals of unit patches (and patch multisets) when hashed: merges round-off duplicates.
PATCH_KEY_DECIMALS: int = 12
#: A patch below this fraction of the largest patch norm is zero (never active).
ZERO_PATCH_RTOL: float = 1e-14
#: Floor of the pre-activation spread that scales the bias jitter of sampled neurons.
SAMPLE_SPREAD_FLOOR: float = 1e-12
#: Blocks of one pattern whose unit directions agree to this are one hidden channel.
BLOCK_DIRECTION_ATOL: float = 1e-9
#: ``rcond`` of the output-layer correction: near-parallel channels must not buy large weights.
REFIT_RCOND: float = 1e-8
#: The output-layer correction is kept only below this fraction of the weights (round-off).
REFIT_MAX_CHANGE: float = 1e-6
#: Equality rows with singular values below ``this * EPS * max(shape) * s_max`` are dependent.
ROW_BASIS_RANK_ULPS: float = 100.0
#: Default cut-off of the singular values of ``X_m`` in the per-frequency nuclear programs.
NUCLEAR_RANK_RTOL: float = 1e-12


# --- backends: scipy.optimize (cbntheory.backends.optimize) -------------------------------

#: Weight, relative to the data scale, of the heavy NNLS row that enforces the free
#: coordinate's equality in the cone-support bound; the equality is then made exact by
#: raising one multiplier, so the weight only has to dominate the other rows.
NNLS_FREE_ROW_WEIGHT: float = 1e6

#: That equality counts as met below this multiple of the data scale (the free entry is
#: itself a rounded sum).
NNLS_ZERO_RTOL: float = 1e-13


# --- measure, checks, output: certified intervals, structure, figures ---------------------

#: A singular value of a layer's frequency block ``c What_l[m]`` above this counts as kept
#: in the weight-based CBN rank estimate.  Near-minimal-norm networks keep values near 1 and
#: drop the rest to ~1e-2 (T5), but the constant frequency shares its work with the biases
#: and sits lower (~0.4 in a trained 8-layer autoencoder), so the cut is well below 1/2.
STRUCTURE_WEIGHT_THRESHOLD: float = 0.2

#: Per-frequency span dimension of activations: singular values above this fraction of the
#: layer's largest (over all frequencies) count.  Interpolating networks are trained to a
#: relative residual ~1e-6; directions 1000x weaker than the leading one are residue.
STRUCTURE_SPAN_RTOL: float = 1e-3

#: A network re-checked by a table or a check fits when its residual is at most
#: ``FIT_RTOL * FIT_RECHECK_FACTOR``: the factor absorbs the round-off of re-evaluating it.
FIT_RECHECK_FACTOR: float = 1 + 1e-6
#: Fourier coefficients of a CBN construction's decoder input below this fraction of the
#: largest count as zero (the decoder divides by them): above round-off, below real values.
CONSTRUCTION_SUPPORT_RTOL: float = 1e-8
#: The construction's ReLU threshold sits this fraction of the level spread above a level,
#: so that round-off cannot put a sample on the wrong side of it.
CONSTRUCTION_LEVEL_OFFSET: float = 1e-6
#: Span counts of the exact constructions (T3-construction): a clean rank, so a threshold
#: far below any genuine singular value and far above round-off.
CONSTRUCTION_SPAN_RTOL: float = 1e-8
#: T1-data: frequencies whose gain ``|yhat| / |xhat|`` is below this fraction of the largest
#: carry only round-off and are left out of the closed form.
GAIN_CUTOFF_RTOL: float = 1e-12
#: T6: span counts at these two thresholds bracket the activation structure (directions
#: with a tenth of the largest singular value, and the residue level of STRUCTURE_SPAN_RTOL).
T6_SPAN_RTOLS: tuple[float, float] = (0.1, 1e-3)
#: Decimals to which the construction rounds the values of ``g`` before grouping them into
#: levels: equal levels computed along different paths then fall together.
CONSTRUCTION_LEVEL_DECIMALS: int = 12
#: Bias-aware construction: Newton steps on the convex amplitude profile; converges in
#: tens of steps from t = 0 for depths up to a few hundred, so this only caps a failure.
CONSTRUCTION_PROFILE_ITERATIONS: int = 200
#: ... stops when the Newton decrement (the predicted decrease, twice) is below this:
#: far below the round-off of a norm of order 10-100.
CONSTRUCTION_PROFILE_DECREMENT: float = 1e-20
#: ... and a backtracking line search stops halving the step below this size.
CONSTRUCTION_PROFILE_MIN_STEP: float = 1e-12
#: ... the decoder reads at most this many thresholds of the bottleneck, one hidden channel
#: each (when the width allows): two already lower C by about 0.8 on the 1D shifts, and
#: every pair of pixel levels is tried, so the search grows with the power.
CONSTRUCTION_MAX_THRESHOLDS: int = 2
#: Figures: energy shares below this are drawn at this value on the logarithmic scale.
FIGURE_ENERGY_FLOOR: float = 1e-8
#: Figures: upper end of a linear colour scale at least this (an all-zero map stays drawable).
FIGURE_VMAX_FLOOR: float = 1e-12
#: Budgets of the numerical solves of tables, checks, the report and sweeps are counts, so
#: that a seed gives the same numbers on an idle and on a loaded machine.  L-BFGS-B
#: iterations per restart in quick mode (tables, checks, ``cbn report --quick``): about
#: what a quick solve reached in its former 6 s limit (3,400-9,500 measured, deep ones
#: fewest), keeping ``cbn report --quick`` near its former ~45 s.
QUICK_MAX_ITER: int = 4_000
#: The quick T6 and T7 checks solve wider networks (width 4), each iteration costing more;
#: their former limits were 15 s (T6) and 5 s per solve (T7).
T6_QUICK_MAX_ITER: int = 3_000
#: Random restarts of each T6 solve (the best verified network is measured).  With one,
#: the quick case (shift_autoencoder_1d, L = 4, width 2) ended at 24.43, above the
#: construction's 22.39, under OpenBLAS's SkylakeX kernels (14.27-14.31 under Haswell,
#: Sandybridge and Katmai), so T6 had no near-optimal network; three reach 15.50 there.
T6_RESTARTS: int = 3
T7_QUICK_MAX_ITER: int = 1_500
#: The same for the default report's data targets (full samples): their former 12 s a solve
#: reached 2,900-4,200 iterations (shift_autoencoder_1d L = 8, shape_pattern_1d L = 4).
REPORT_MAX_ITER: int = 4_000
#: Seconds after which a solve is stopped anyway (a safety cap, not a budget; the ReLU
#: solver's own per-restart cap): a row it may have cut is ``time_capped`` and drops the
#: solver's upper bound (:func:`cbntheory.measure.intervals.solver_row`).
SOLVE_SAFETY_CAP: float = 600.0
#: Safety caps of one solve in the report (quick, default): 10x the time of its iteration
#: budget on an idle 2-core machine, so only a pathological load reaches them (default:
#: 300 s since the L = 32 rows of issue 15, whose restarts cost ~4x those at L = 8).
REPORT_SOLVE_CAP: tuple[float, float] = (60.0, 300.0)
#: Seconds after which the report skips the solves it has not started (a safety cap; the
#: skipped rows say so): 5x the documented run time of each plan (quick, default).
REPORT_SAFETY_CAP: tuple[float, float] = (600.0, 3000.0)
#: ``cbn verify``: a saved network's parameter norm, recomputed from its file, must match
#: the table's upper bound to this: summing the same squares in another order moves it by
#: ~1e-15, any change to the weights by far more.
VERIFY_NORM_RTOL: float = 1e-9
#: A slope of R against L is fitted only through at least this many depths whose upper
#: bounds share one source (solver or closed form): two points always lie on a line, so a
#: two-point "fit" has a zero residual whatever R does and is no evidence of a slope.
SLOPE_MIN_DEPTHS: int = 3


# --- sweeps (cbntheory.sweep): timeouts in seconds, not numerical tolerances --------------

#: How long a store write waits for another sweep's transaction on the same SQLite file
#: before failing: every transaction is a few rows, so 30 s means something is stuck.
SWEEP_BUSY_TIMEOUT: float = 30.0

#: Interval at which a running sweep refreshes its heartbeat row in the store.
SWEEP_HEARTBEAT: float = 5.0

#: A claim whose sweep has not refreshed its heartbeat for this long (12 missed beats)
#: is considered abandoned (process killed on another host) and may be taken over.
SWEEP_STALE_AFTER: float = 60.0

#: How long to try to reach a Dask scheduler before failing: a live scheduler on a
#: cluster network answers in well under a second.
SWEEP_SCHEDULER_TIMEOUT: float = 5.0

#: Seconds between looks at jobs held by other sweeps once nothing else is left to run.
SWEEP_POLL: float = 0.5

#: Shortest wait for results between heartbeat checks (keeps the runner from spinning).
SWEEP_MIN_WAIT: float = 0.05

#: Seconds a terminated local worker gets to exit (Ctrl-C) before it is killed.
SWEEP_TERMINATE_GRACE: float = 5.0


# ------------------------------------------------------- issue 12: sweeps for the real work
#: Seconds between a pool worker's checks that its sweep process is alive: a worker of
#: a sweep killed with SIGKILL exits within this delay instead of living on as an orphan.
SWEEP_ORPHAN_POLL: float = 1.0

# --- issue 14: bad inputs, size guard, interruptions ---------------------------------------

#: Largest single array (bytes) the package allocates on a user's request: a network's
#: weights, a dense Jacobian or operator matrix, a loaded array.  Above it a
#: :class:`~cbntheory.errors.TooLargeError` gives the estimate and the cap before anything is
#: allocated, instead of a MemoryError (or a machine brought down by swapping).  4 GiB: far
#: above every problem the theory's checks need, below the memory of a laptop.
MAX_ARRAY_BYTES: int = 4 * 2**30

#: Environment variable that overrides :data:`MAX_ARRAY_BYTES` (an integer number of bytes,
#: optionally with a K, M, G or T suffix for powers of 1024), read at every check.
MAX_ARRAY_BYTES_ENV: str = "CBNTHEORY_MAX_BYTES"

#: Seconds a command waits, after the first Ctrl-C or SIGTERM, for the running solve to
#: return what it has before it is abandoned (the issue asks for a stop within ~1 s).
INTERRUPT_GRACE: float = 1.0


# --- issue 13: custom targets, courses ----------------------------------------------------

#: Two samples of a custom data target count as the same circular shift when they agree to
#: this fraction of the data's scale: user files carry round-off from whatever wrote them.
DATA_ORBIT_MATCH_RTOL: float = 1e-9

# --- issue 15: tight ReLU bounds (warm starts, orbit reduction, depth continuation) ------

#: Orbit reduction: outputs of one shift orbit count as shifted copies of each other when
#: they differ by at most this times the largest output entry.  Exact shifts (every
#: built-in orbit target) differ by 0; outputs of a network computed through the FFT by
#: ~1e-16, far below the fit tolerance; the solution is re-verified on every sample.
ORBIT_MATCH_RTOL: float = 1e-12
#: Seeds of the default report's emergent-bottleneck item (random starts only, with and
#: without biases): the issue asks for at least five.
EMERGENCE_SEEDS: int = 5

# --- issue 15 (larger depths, the report and its time) ------------------------------------

#: Hidden width of the quick report's T7 comparison: at the quick width 2 no network of
#: ``shift_autoencoder_1d`` (L = 3) with middle layers down-sampled by 2 interpolates
#: within the budget, at widths 3 and 4 one does; 4 is the T7 check's width.
REPORT_QUICK_DOWNSAMPLING_WIDTH: int = 4
#: Depths of the default report's shift autoencoders: 1-8 as the other data targets, then
#: doublings up to the issue's L = 32 (1D) and L = 16 (2D).  Measured on a loaded 2-core
#: machine, 4,000 iterations: 76 s and 129 s wall for the 1D rows at L = 16 and 32, 139 s
#: for the 2D row at L = 16 (every depth in between would cost ~10x as much).
REPORT_DEEP_DEPTHS_1D: str = "1-8,16,32"
REPORT_DEEP_DEPTHS_2D: str = "1-8,16"
#: Iterations per restart of shift_autoencoder_2d's solves in the default report: its
#: networks have 36x the samples' pixels of the 1D target and its L = 8 row was still
#: falling at REPORT_MAX_ITER (measured, seed 0: 44.106 at 4,000 iterations, with one or
#: two random restarts alike; 43.478 at 8,000, one restart, 135 s against 70 s).
REPORT_MAX_ITER_2D: int = 8_000

# --- issue 16: speed (FFT backend, convex certificate screen, T1 SVD threads) ------------
#: Real FFTs of fewer elements than this use numpy.fft: at a few hundred elements the
#: call overhead dominates and numpy's is ~3-5 us lower (measured: 4-640 elements, 1D and
#: 2D); from a few thousand elements scipy.fft is faster (1.2-1.4x in float64, 2-8x in
#: float32, where numpy's float32 transform is slower than its float64 one).
FFT_SCIPY_MIN_SIZE: int = 2048
#: The same in double precision, where numpy's transform is closer to scipy's: the 1D
#: engine benchmark (d = 16, 16 channels, batch 64: 16,384 elements) ran 1.07-1.10x slower
#: on scipy.fft in float64 (and 1.1x faster in float32).
FFT_SCIPY_MIN_SIZE_DOUBLE: int = 2 ** 15
#: Transforms of at least this many elements use every core (``workers``); below it the
#: threads cost more than they save (measured: 2.6e5 elements, 2 cores, no gain; 1e6
#: elements, 1.1-1.4x).
FFT_THREADED_MIN_SIZE: int = 2 ** 19
#: FISTA iterations of the batched cone-support screen of the convex certificate: its
#: bounds are certified after any number; the exact NNLS then refines only the patterns
#: that decide the certificate, and more iterations mean fewer of those.
SCREEN_ITERATIONS: int = 200
#: Elements of one chunk of the screen's multiplier array (patterns x directions x
#: hyperplanes): 4e6 float64 = 32 MB per temporary.
SCREEN_CHUNK_ELEMENTS: int = 4_000_000
#: Weight of the free coordinate's residual in the screen's objective, so that zeroing
#: it afterwards by one multiplier costs little (the weighted problem stays well scaled).
SCREEN_FREE_WEIGHT: float = 10.0
#: The convex working set starts from the patterns of this many random neurons per
#: sample (as pyscnn's sampled gates) ...
WORKING_SET_SAMPLED_GATES: int = 2
#: ... joined by this many per sample of the patterns best correlated with the labels.
WORKING_SET_TOP_PER_SAMPLE: int = 2
#: Each round adds at most this fraction of the working set's size (at least
#: WORKING_SET_MIN_ADD) of the most violated patterns: small programs, a few rounds.
WORKING_SET_ADD_FRACTION: float = 0.25
WORKING_SET_MIN_ADD: int = 20
#: FISTA iterations between two evaluations of the screen's bounds (directions whose
#: bound has settled below the caller's threshold then leave the computation).
SCREEN_BLOCK: int = 20
#: Batches of at least this many matrices per core get their singular values in threads
#: (one share per core): below it the thread start-up (~0.1 ms) outweighs the gain
#: (measured: 2,112 complex 16 x 16 blocks, 1.2-1.4x faster on 2 cores).
SVD_THREADED_MIN_BATCH: int = 128

# --- issue 15 (lower side): certified depth-2 lower bounds with image outputs -------------
#: Pattern representatives (one per shift orbit with full-size filters) the depth-2 dual
#: certificate bounds at most: shape_pattern_1d's 4116 orbits of 2^16 patterns take ~3 s
#: per multiplier; the 2D shift autoencoder's 2^36 patterns (~1.9e9 orbits) are far beyond.
DEPTH2_MAX_PATTERNS: int = 5000
#: Verified networks of a row (lowest norms first) whose stationarity multipliers the
#: depth-2 certificate tries, besides the labels: each costs one bound over all patterns.
DEPTH2_NETWORKS: int = 2
#: Directions of the certificate's cone-support screen whose bound falls below this
#: fraction of the largest spectral bound stop iterating (their bound stays certified;
#: the patterns that decide kappa are refined by the exact NNLS anyway): on
#: shape_pattern_1d 2.7 s instead of 30 s for the same kappa.
DEPTH2_SCREEN_SETTLED: float = 0.1
#: Subgradient steps of the certificate's semidefinite bound per pattern (every step's
#: bound is certified; more steps, tighter kappa: on shift_autoencoder_1d's critical
#: pattern 50, 200, 1000 steps give 3.60, 3.13, 2.93 against 4.93 row by row).
DEPTH2_SDP_ITERATIONS: int = 300
#: Patterns refined together by that bound (one batched eigh per step).
DEPTH2_SDP_BATCH: int = 64
#: Multipliers (of the up to 2 DEPTH2_NETWORKS x 2 + 1 tried) that get the semidefinite
#: refinement, best row-by-row bound first: it costs most of the certificate's time.
DEPTH2_REFINED_CANDIDATES: int = 2
#: FISTA iterations of the certificate's row-by-row screen: the semidefinite bound then
#: refines the patterns that decide kappa, so the screen need not be tight.
DEPTH2_SCREEN_ITERATIONS: int = 60

# --- issue 15, upper side: the ReLU solver's annealed first phase -------------------------
#: Weights ``c_k`` of the annealed penalty phase of a ReLU restart from a random start
#: (stage ``k`` minimises ``||r||^2 + c_k / max(1, ||theta_0||^2) ||theta||^2``, see
#: cbntheory.solvers.augmented), divided by 10 per stage.  On the depth-12 benchmark (start
#: norm 1409) at 1,000 iterations: 4e-2 first -> verified norm 1005 (maxcor 50), 2e-2 ->
#: 1251, a gentler decay (4e-2 to 1.3e-3 in four stages) -> 1137 (maxcor 20).
RELU_ANNEAL: tuple[float, ...] = (4e-2, 4e-3, 4e-4)
#: The annealed phase of a random start when the Gauss-Newton projection closes the
#: residual (session 7): one stage, the first of RELU_ANNEAL, for the whole budget.  The
#: later stages only spent iterations on closing the residual at a nearly constant norm;
#: the projection closes it from 3e-2 to 1e-1 for a rise of the norm of 3-17 %.  On the
#: benchmark (verified norms, seeds 0 / 1): 500 iterations 821.1 / 840.4, 800: 577.9 /
#: 595.0, 3,000: 345.0 / 434.5, against 1005.6 / (not verified) at 1,000 and 478.9 /
#: 528.8 at 3,000 with the three stages.
RELU_ANNEAL_PROJECTED: tuple[float, ...] = (4e-2,)
#: Session 11: up to RELU_METRIC_MAX_ITER iterations per restart, that one stage instead
#: penalises the residual in the Gauss-Newton metric, ``r^T (J J^T + d I)^{-1} r +
#: RELU_METRIC_WEIGHT ||theta||^2`` (``d`` = RELU_METRIC_DAMPING times the mean eigenvalue
#: of ``J J^T``, made again at the current point every RELU_METRIC_REFRESH iterations or
#: when the norm changed by RELU_METRIC_RESCALE).  ``r^T (J J^T)^{-1} r`` is the squared
#: length of the Gauss-Newton step to the data, so at a stationary point that step is
#: about ``RELU_METRIC_WEIGHT ||theta||`` long and the projection after it is short, where
#: ``||r||^2`` leaves the residual in the directions that ``J J^T`` barely reaches
#: (docs/solvers.md 6.5).  The weight is not divided by the start's norm.  On the
#: benchmark, all in the metric (seeds 0 / 1, verified norms): 100 iterations 1093.8 /
#: 1008.1, 150: 901.9 / -, against 912.1 / 1053.2 with the plain stage at 500 / 400
#: iterations.  Weights at 200 iterations (no rescale rule): 1.5e-2 -> 927.2 / 807.7,
#: 2e-2 -> 777.0 / 640.7, 3e-2 -> 635.7 / 629.0; 5e-2 collapsed the network on seed 1.
RELU_METRIC_WEIGHT: float = 2e-2
#: Restarts with larger budgets keep the plain stage: with the metric stage all the way,
#: 15 of the default report's 41 table rows rose (4,000-8,000 iterations: up to 8.7 % on
#: the digits classifier, shift_autoencoder_2d at L = 8 43.349 -> 44.103) and 3 fell;
#: with it as the last 200 iterations of the plain stage's budget, 12 rose (the digits
#: classifier at L = 4 by 24.6 %, shift_autoencoder_2d at L = 8 by 1.7 %) and 9 fell, by
#: at most 1.6 %.  On the benchmark the metric stage was ahead at every budget compared
#: (100-300); the boundary is not tuned.
RELU_METRIC_MAX_ITER: int = 1_000
#: Damping of ``J J^T`` in the metric, relative to its mean eigenvalue (the projection's
#: accepted steps use 1e-4 to 1e-3).
RELU_METRIC_DAMPING: float = 1e-3
#: Iterations between two refreshes of the metric (each costs one ``J J^T``: 0.2 s on the
#: benchmark, about 60 iterations' worth).  Every 50: 891.99 / 731.75 at 200 iterations.
RELU_METRIC_REFRESH: int = 100
#: The metric is also made again as soon as the norm has changed by this factor since it
#: was made: ``J J^T`` scales like the norm to the power ``L - 1``, and a metric made for
#: larger weights lets a deep network shrink to zero within one run.
RELU_METRIC_RESCALE: float = 1.25
#: The same for a warm start (a construction, a neighbouring depth's network), which fits
#: already: a light penalty.  On shift_autoencoder_2d at L = 8 from the bias-aware
#: construction, 4,000 iterations: 44.235 without, 44.112 with (1e-4, 1e-5), 44.125 with
#: (2e-4, 2e-5), 44.192 with (5e-5, 5e-6).
RELU_WARM_ANNEAL: tuple[float, ...] = (1e-4, 1e-5)
#: Share of a run's iterations (before the polish reserve) given to the annealed phase
#: when the augmented Lagrangian must close the residual itself (no projection: Jacobian
#: too large); with the projection the annealing gets the whole budget (less what its
#: stages leave when they settle).  At 0.8 the benchmark's 1,000 iterations give 1106.05
#: instead of 1005.63 (its 200 closing iterations leave the residual at 2e-3).
AL_ANNEAL_SHARE: float = 0.8
#: L-BFGS memory of the ReLU restarts: on the benchmark at 1,000 iterations the annealed
#: phase ends at 1005 with 50 pairs against 1128 with 20; 44.11 against 44.17 on the 2D row.
#: Verified norms there (seed 0): 1128.88 (20), 1125.84 (35), 1052.91 (40), 1005.63 (50);
#: 50 pairs cost 2.8 ms per iteration inside L-BFGS-B against 1.2 ms for 20.
RELU_MAXCOR: int = 50
#: Chord steps of the Gauss-Newton projection (the last Jacobian's factorisation with a new
#: residual: one forward pass each) after each Jacobian, at most, while each keeps at most
#: PROJECT_CHORD_RATIO of the residual; a slower one ends them and a new Jacobian is taken.
PROJECT_CHORD_STEPS: int = 4
PROJECT_CHORD_RATIO: float = 0.25
#: An annealing stage has settled when its value fell by at most AL_ANNEAL_STALL_RTOL
#: (relative) over the last AL_ANNEAL_STALL_WINDOW iterations: then the next stage starts
#: (after the last, the multiplier phase), instead of spending the stage's whole share of a
#: large budget near its minimiser.  With 1e-9 the docs' worked example ((1, 4, 4, 1), six
#: samples) spent 10,000 iterations in the stages and its projection failed (residual
#: 7e-5); with 1e-4 the stages end after 360-2,750 iterations and both restarts verify
#: (36.38); the benchmark's stages never settle at 1,000 iterations (1005.63 either way).
AL_ANNEAL_STALL_WINDOW: int = 100
AL_ANNEAL_STALL_RTOL: float = 1e-4

# --- issue 16 (second pass): the convex program's last network without the SCS fallback ---
#: Solver of the one-output output-weight LP (``conic.output_weights_basis``): HiGHS ends
#: at a vertex (at most N non-zero weights), which refits the data to round-off where an
#: interior-point answer leaves a residual of the order of its tolerance.
BASIS_LP_SOLVER: str = "SCIPY"
#: Shares per core of the threaded batched SVD (``operators.batch_singular_values``): a
#: few small shares balance the threads when other processes take a core for a while.
SVD_SHARES_PER_CORE: int = 4
#: Floating type of the certificate screen's FISTA iterations: any multipliers of the
#: right sign give a certified bound (evaluated in float64), and float32 halves the
#: memory traffic of the screen (most of the time of large working-set solves).
SCREEN_DTYPE: str = "float32"

# --- issue 16 (third pass): the working set at twice the sizes ------------------------------
#: FISTA iterations of the screen that ranks the patterns for the first working set (a
#: ranking, not a certificate: no NNLS follows).
WORKING_SET_SCORE_ITERATIONS: int = 20
#: Each working-set round adds at least this many violated patterns per sample (besides
#: WORKING_SET_ADD_FRACTION of the set), since pruning keeps the set small.
WORKING_SET_ADD_PER_SAMPLE: int = 2
#: Rounds during which patterns without an active block leave the working set; afterwards
#: the set only grows, so column generation ends.  Weight dimension 4, n = 60 (CPU s):
#: 20 rounds 35, 10 rounds 27, 5 rounds 22, 2 rounds 26 (pruning for long makes the set
#: shed and rediscover patterns; never pruning grows it to thousands).
WORKING_SET_PRUNE_ROUNDS: int = 5
#: During those rounds, blocks below this fraction of the largest count as inactive (the
#: next optimum may then rise by their size, which the later rounds undo).
WORKING_SET_PRUNE_RTOL: float = 1e-4
#: The certificate screen keeps its multipliers between working-set rounds (a warm start:
#: the multipliers change little from round to round) up to this many entries
#: (patterns x 2 outputs' signs x hyperplanes; 5e7 float32 = 200 MB).
SCREEN_WARM_MAX_ELEMENTS: int = 50_000_000
#: Violated patterns added in one round differ in at least this many signs (1: no rule):
#: the most violated ones are neighbouring cells around one maximiser of the dual
#: constraint.  Weight dimension 4, n = 60 (4 per sample, CPU s): 1: 60, 2: 57, 4: 40,
#: 8: 41; 6 with 2 per sample: 33.
WORKING_SET_SPREAD: int = 6

# --- issue 16 (fourth pass): weight dimension 3 at twice the size ---------------------------
#: Up to this weight dimension (without a free coordinate) the certificate screen is exact:
#: the multipliers on every set of at most ``r`` walls of each cone (the KKT support of the
#: projection onto a cone of R^r has at most r independent walls) give certified bounds
#: whose minimum is the support function itself, with no FISTA.  The number of wall
#: subsets grows as (walls per cone)^r, so larger dimensions keep the FISTA screen.
SCREEN_WALLS_MAX_DIM: int = 3
#: After WORKING_SET_PRUNE_ROUNDS, pruning goes on while each round's optimum falls by at
#: least this fraction of the last one (the first round that falls less ends it for good:
#: a positive fall bounds the number of such rounds, so column generation still ends).
#: Only where the screen is exact (SCREEN_WALLS_MAX_DIM): at weight dimension 3, n = 160,
#: 40 CPU s against 55 without (the last program 435 patterns against 1,065); at weight
#: dimensions 4 and 5, with the FISTA screen, it cost ~5 % (two more rounds).
WORKING_SET_PRUNE_MIN_FALL: float = 1e-6
