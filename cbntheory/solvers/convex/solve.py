"""Private: solving the convex two-layer program, checking each answer, working sets.

:class:`ProgramSolver` solves the group lasso on a subset of the patterns, rebuilds the
network, checks it (:func:`cbntheory.solvers.verify.verify`; the conic backend tries the
next solver while the check fails) and bounds it by the dual certificate;
:meth:`ProgramSolver.solve_working_set` grows the subset until the multipliers are
feasible for every pattern (column generation).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ... import settings
from ...errors import InfeasibleError, SolverError
from ...results import INFEASIBLE, OPTIMAL, OPTIMAL_INACCURATE, relative_residual
from ..problem import Candidate, Problem
from ..verify import Verification, verify
from .model import (
    Neurons,
    active_blocks,
    block_directions,
    build_network,
    dual_lower_bound,
    neurons_from_blocks,
    neurons_from_output_weights,
    pattern_kappas,
    refit_exactly,
)
from .patterns import Arrangement
from .screen import exact_with_walls

if TYPE_CHECKING:  # pragma: no cover
    from ...backends import conic

#: Conic statuses handed back for the numpy check (which decides whether to fall back).
ACCEPT = (OPTIMAL, OPTIMAL_INACCURATE)


def span_residual(F: np.ndarray, Y: np.ndarray, with_bias: bool) -> float:
    """Relative distance of the labels from the span of the pattern features.

    The relative residual of the least-squares fit of ``Y`` by the columns
    ``g_D(X)`` of every pattern ``D`` of ``F`` (``(P, N, r)``), plus a constant column
    when ``with_bias``: zero when some combination of the patterns reproduces ``Y``.
    """
    N = F.shape[1]
    A = F.transpose(1, 0, 2).reshape(N, -1)
    if with_bias:
        A = np.hstack([A, np.ones((N, 1))])
    if A.shape[1] > N:  # A = R^T Q^T: the same range as the small square R^T
        A = np.asarray(np.linalg.qr(A.T, mode="r")).T
    coef, *_ = np.linalg.lstsq(A, Y, rcond=None)
    return relative_residual(A @ coef, Y)


@dataclasses.dataclass(frozen=True)
class Answer:
    """A conic answer's network, checked (rank 0: fits and matches its claimed norm)."""

    sol: conic.ConicSolution
    check: Verification
    neurons: Neurons
    bound: dict[str, Any]
    gap: float
    rank: int
    #: the dual multipliers tried for the bound (the solver's first)
    multipliers: tuple[np.ndarray, ...] = ()


@dataclasses.dataclass(frozen=True)
class Draft:
    """An intermediate working-set round: the solution and its multipliers' bound only."""

    sol: conic.ConicSolution
    bound: dict[str, Any]


class ProgramSolver:
    """One call's data, the programs over subsets of patterns and the check of every answer."""

    def __init__(self, problem: Problem, arr: Arrangement, cells: np.ndarray, F: np.ndarray,
                 walls: np.ndarray | None, output_bias: str, free_hidden: bool) -> None:
        self.problem, self.arr = problem, arr
        self.Y = problem.Y
        self.all_cells, self.all_F, self.walls = cells, F, walls
        self.output_bias, self.free_hidden = output_bias, free_hidden
        self.norm_dims = arr.dim - 1 if free_hidden else arr.dim
        self.y_scale = float(np.linalg.norm(self.Y)) or 1.0  # zero labels: absolute thresholds
        self.solver = problem.options.get("solver")
        #: patterns (and features) against which dual certificates are checked, or None
        self.bound_cells: np.ndarray | None = None
        self.bound_F: np.ndarray | None = None
        self.tried: list[str] = []
        self.ws_info: dict[str, Any] = {"used": False}
        #: working-set rounds bound only the solver's multipliers (one screen per round)
        self.first_multiplier_only = False
        self._subset = np.arange(len(cells))
        #: the certificate screen's multipliers, kept between calls for the same patterns
        self._warm: tuple[np.ndarray, np.ndarray] | None = None

    # ------------------------------------------------------------------ one program
    def solve(self, subset: np.ndarray) -> Answer:
        """Solve on the patterns ``subset``; the best checked answer of the solver fallback."""
        cells, F, walls = self._select(subset)
        answers: dict[str, Answer] = {}  # by solver: the backend keeps the best-ranked one

        def check(sol: conic.ConicSolution) -> int:
            answers[sol.solver] = self.evaluate(sol, self._polish(sol, F, cells, walls))
            return answers[sol.solver].rank

        return answers[self._run(F, cells, walls, check).solver]

    def _draft(self, subset: np.ndarray) -> Draft:
        """An intermediate working-set round: the program on ``subset`` for its multipliers.

        The first solver's answer is taken (no fallback to a slower solver) and only its
        multipliers are bounded; no network is built or checked (:meth:`complete` does
        that for the last round).
        """
        cells, F, walls = self._select(subset)
        drafts: dict[str, Draft] = {}

        def check(sol: conic.ConicSolution) -> int:
            drafts[sol.solver] = Draft(sol=sol, bound=self._certificate([sol.duals["fit"]],
                                                                        refine=False))
            return 0

        return drafts[self._run(F, cells, walls, check).solver]

    def complete(self, draft: Draft, subset: np.ndarray) -> Answer:
        """The checked answer of the round ``draft`` on ``subset``: network, bound kept."""
        cells, F, walls = self._select(subset)
        return self.evaluate(draft.sol, self._polish(draft.sol, F, cells, walls),
                             bound=draft.bound)

    def _select(self, subset: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Patterns, features and cone walls of ``subset`` (remembered for :meth:`evaluate`)."""
        self._subset = subset
        walls = None if self.walls is None else self.walls[subset]
        return self.all_cells[subset], self.all_F[subset], walls

    def _run(self, F: np.ndarray, cells: np.ndarray, walls: np.ndarray | None,
             check: Callable[[conic.ConicSolution], int]) -> conic.ConicSolution:
        """The group lasso with the solver fallback, its attempts recorded."""
        try:
            sol = self._lasso(F, cells, walls, self.solver, check=check)
        except SolverError as exc:
            raise SolverError(f"{exc} (solvers tried before: {self.tried})") from None
        self.tried += list(sol.tried)
        if sol.status == INFEASIBLE:
            raise InfeasibleError(f"the convex program is infeasible ({sol.message}) "
                                  "although the labels lie in the span of the features")
        return sol

    def _lasso(self, F: np.ndarray, cells: np.ndarray, walls: np.ndarray | None,
               solver: Any, eps: float | None = None,
               check: Callable[[conic.ConicSolution], int] | None = None
               ) -> conic.ConicSolution:
        """The group lasso over the patterns ``cells`` (features ``F``, cone rows ``walls``)."""
        from ...backends import conic  # cvxpy is imported on first use, not with the package

        return conic.group_lasso(F, self.arr.normals, cells, self.Y, norm_dims=self.norm_dims,
                                 output_bias=self.output_bias, walls=walls, solver=solver,
                                 eps=eps, accept=ACCEPT, check=check)

    # ------------------------------------------------------------------ working set
    def solve_working_set(self, max_rounds: int = 40) -> Answer:
        """Column generation: add the patterns whose dual constraint is violated.

        Start from :meth:`_initial_subset` (sampled gates and the patterns that best
        correlate with the labels), solve, bound ``kappa_D`` of the solver's multipliers
        for every pattern (:func:`cbntheory.solvers.convex.model.pattern_kappas`), add the
        most violated ones (``kappa_D > 1 + WORKING_SET_VIOLATION``, at most
        ``WORKING_SET_ADD_FRACTION`` of the set or ``WORKING_SET_ADD_PER_SAMPLE`` per
        sample) and repeat.  When none is violated the multipliers are feasible for the
        full program, so the working-set solution is optimal for all patterns (and the
        certificate closes).  Intermediate rounds are drafts (:meth:`_draft`): only the
        last program's answer gets a network, which must pass the check.  During the
        first ``WORKING_SET_PRUNE_ROUNDS`` rounds, and after them for as long as every
        round's optimum falls by at least ``WORKING_SET_PRUNE_MIN_FALL`` (relative) when
        the screen is exact (:func:`cbntheory.solvers.convex.screen.exact_with_walls`), the
        patterns without an active block leave the set (:meth:`_prune`); the next program
        still contains the last solution, so its optimum cannot rise (up to the pruning
        threshold).  The optimum is bounded below, so only finitely many rounds can fall
        by that factor; once one does not, pruning stops for good and the set only grows
        (so the loop ends).
        """
        P = len(self.all_cells)
        self.bound_cells, self.bound_F = self.all_cells, self.all_F
        self.first_multiplier_only = True
        subset = self._initial_subset()
        rounds = pruned = 0
        # pruning goes on while the optimum falls, where the screen is exact (with loose
        # bounds the set sheds and rediscovers patterns: weight dims 4-5 ~5 % slower)
        free = self.arr.dim - 1 if self.free_hidden else None
        falling, last = exact_with_walls(self.arr.dim, free, self.walls), float("inf")
        while True:
            rounds += 1
            if rounds == max_rounds:  # the last round allowed: its network, violated or not
                best = self.solve(subset)
                break
            draft = self._draft(subset)
            found = draft.bound.get("kappas")  # None: no certificate, nothing to add
            kappas = np.zeros(0) if found is None else np.asarray(found, dtype=float)
            violated = np.flatnonzero(kappas > 1 + settings.WORKING_SET_VIOLATION)
            outside = np.setdiff1d(violated, subset)
            if outside.size == 0:  # the exact NNLS now settles the top patterns' kappa_D
                draft = Draft(sol=draft.sol, bound=self._certificate([draft.sol.duals["fit"]]))
                best = self.complete(draft, subset)
                if best.rank > 0:  # the last program: its answer must pass the check
                    best = self._final_network(best, subset)
                break
            falling = falling and draft.sol.objective < last * (
                1.0 - settings.WORKING_SET_PRUNE_MIN_FALL)
            last = draft.sol.objective
            prune = rounds <= settings.WORKING_SET_PRUNE_ROUNDS or falling
            kept = self._prune(draft, subset) if prune else subset
            pruned += len(subset) - len(kept)
            most = max(settings.WORKING_SET_MIN_ADD,
                       int(settings.WORKING_SET_ADD_FRACTION * len(kept)),
                       settings.WORKING_SET_ADD_PER_SAMPLE * self.Y.shape[0])
            add = self._spread(outside[np.argsort(-kappas[outside], kind="stable")], most)
            subset = np.union1d(kept, add)
        self.first_multiplier_only = False
        assert best is not None
        if best.gap > settings.GAP_RTOL and len(best.multipliers) > 1:
            other = self.recertify(best)  # the other multipliers may close the gap
            best = other if other.gap < best.gap else best
        self.ws_info = {"used": True, "rounds": rounds, "patterns_in_program": int(len(subset)),
                        "patterns_total": int(P), "patterns_pruned": int(pruned)}
        assert best is not None
        return best

    def _prune(self, draft: Draft, subset: np.ndarray) -> np.ndarray:
        """The patterns of ``subset`` with an active block in the draft's solution.

        Dropping patterns whose blocks are zero leaves the draft's solution feasible and
        optimal for the smaller program.  (Keeping also the inactive patterns whose
        ``kappa_D`` exceeds 0.9 kept thousands of them: at weight dimension 4, n = 60,
        81 CPU s instead of 64, the same certified value.)
        """
        sol = draft.sol
        blocks = np.concatenate([sol.values["pos"], sol.values["neg"]], axis=0)
        semi = np.linalg.norm(blocks[..., :self.norm_dims], axis=-1)
        big = semi > settings.WORKING_SET_PRUNE_RTOL * float(semi.max(initial=0.0))
        return subset[np.any(big & active_blocks(semi, self.all_F[subset], self.y_scale),
                             axis=0)]

    def _spread(self, order: np.ndarray, most: int) -> np.ndarray:
        """Up to ``most`` of the patterns ``order`` (most violated first), spread out.

        The most violated patterns crowd around the same maximiser of the dual
        constraint (neighbouring cells, one sign apart); a pattern within
        ``WORKING_SET_SPREAD`` - 1 sign changes of one already taken is passed over
        while others remain, so that a round adds several directions.
        """
        gap = settings.WORKING_SET_SPREAD
        if gap <= 1 or len(order) <= most:
            return order[:most]
        cells = self.all_cells[order].astype(np.int16)
        taken: list[int] = []
        for i in range(len(order)):
            if taken and np.min(np.sum(cells[taken] != cells[i], axis=1)) < gap:
                continue
            taken.append(i)
            if len(taken) == most:
                break
        rest = np.setdiff1d(np.arange(len(order)), taken)[:most - len(taken)]
        return order[np.concatenate([np.asarray(taken, dtype=int), rest])]

    def _warm_start(self) -> np.ndarray | None:
        """The screen's multipliers for :attr:`bound_cells` (zeros at first), or None if too big."""
        cells = self.bound_cells
        if cells is None:
            return None
        rows = 2 * self.Y.shape[1] * len(cells)
        if rows * cells.shape[1] > settings.SCREEN_WARM_MAX_ELEMENTS:
            return None
        if self._warm is None or self._warm[0] is not cells:
            self._warm = (cells, np.zeros((rows, cells.shape[1]), settings.SCREEN_DTYPE))
        return self._warm[1]

    def _final_network(self, draft: Answer, subset: np.ndarray) -> Answer:
        """A checked network for the last working set, whose draft network failed the check.

        The draft's multipliers already certify its optimum, so the solver fallback (a
        first-order solver, slow on large programs) runs on the patterns with an active
        block in the draft only; the answer keeps the better of the two certificates, and
        a wrong active set shows as an open gap, never as a wrong value.  When that
        fails, the whole last program goes through the fallback.
        """
        sol = draft.sol
        F = self.all_F[subset]
        blocks = np.concatenate([sol.values["pos"], sol.values["neg"]], axis=0)
        semi = np.linalg.norm(blocks[..., :self.norm_dims], axis=-1)
        active = subset[np.any(active_blocks(semi, F, self.y_scale), axis=0)]
        try:
            small = self.solve(active) if 0 < len(active) < len(subset) else None
        except (SolverError, InfeasibleError):
            small = None
        if small is None or small.rank > 0:
            return self.solve(subset)
        keep = draft if (small.bound["lower"] is None or (
            draft.bound["lower"] is not None and draft.bound["lower"] >= small.bound["lower"])
        ) else small
        lower, upper = keep.bound["lower"], small.check.norm
        gap = float("inf") if lower is None else (upper - lower) / max(1.0, abs(upper))
        self._subset = subset
        return dataclasses.replace(small, bound=keep.bound, gap=gap)

    def recertify(self, best: Answer) -> Answer:
        """``best`` with its dual bound recomputed against :attr:`bound_cells` (now set)."""
        bound = self._certificate(list(best.multipliers) or [best.sol.duals["fit"]])
        lower, upper = bound["lower"], best.check.norm
        gap = float("inf") if lower is None else (upper - lower) / max(1.0, abs(upper))
        return dataclasses.replace(best, bound=bound, gap=gap)

    def _initial_subset(self) -> np.ndarray:
        """The first working set: sampled gates and the patterns best correlated with ``Y``.

        The patterns of :data:`cbntheory.settings.WORKING_SET_SAMPLED_GATES` ``N`` random
        neurons (as pyscnn starts, :meth:`Arrangement.sample`), joined by the patterns
        with the largest ``kappa_D`` for the multiplier ``L = Y`` (centred when the output
        bias is free); the latter are doubled until the set can fit the labels.
        """
        P, N = len(self.all_cells), self.Y.shape[0]
        L0 = self.Y - (self.Y.mean(axis=0) if self.output_bias == "free" else 0.0)
        # a ranking only: a short screen, no NNLS (its multipliers seed the first certificate)
        score = pattern_kappas(self.arr, self.all_cells, self.all_F, L0, self.free_hidden,
                               iterations=settings.WORKING_SET_SCORE_ITERATIONS, refine=False,
                               warm=self._warm_start(), walls=self.walls)
        order = np.argsort(-score, kind="stable")
        sampled, _ = self.arr.sample(settings.WORKING_SET_SAMPLED_GATES * N, rng=0)
        where = {row.tobytes(): i for i, row in enumerate(np.asarray(self.all_cells, np.int8))}
        gates = [where[k] for k in (r.tobytes() for r in np.asarray(sampled, np.int8))
                 if k in where]
        size = min(P, settings.WORKING_SET_TOP_PER_SAMPLE * N)
        bias = self.output_bias != "none"
        while True:
            subset = np.union1d(order[:size], np.asarray(gates, dtype=int))
            if size >= P or span_residual(self.all_F[subset], self.Y, bias) <= (
                    settings.FEASIBILITY_RTOL):
                return subset  # the first program must be able to fit the labels
            size = min(P, 2 * size)

    def _polish(self, sol: conic.ConicSolution, F: np.ndarray, cells: np.ndarray,
                walls: np.ndarray | None) -> tuple[conic.ConicSolution, np.ndarray] | None:
        """Re-solve on the patterns with an active block only: exactly sparse, accurate.

        Interior-point solutions leave every block slightly non-zero; dropping the small
        ones changes the fit and the norm by their sum.  The program restricted to the
        patterns whose blocks are active has a handful of blocks and is solved to full
        accuracy; its optimum is at least the full one (fewer patterns) and equal to it
        when the active set is right, which :meth:`evaluate` checks.
        """
        blocks = np.concatenate([sol.values["pos"], sol.values["neg"]], axis=0)
        semi = np.linalg.norm(blocks[..., :self.norm_dims], axis=-1)
        keep = np.flatnonzero(np.any(active_blocks(semi, F, self.y_scale), axis=0))
        if len(keep) == len(cells):
            return None
        try:
            pol = self._lasso(F[keep], cells[keep], None if walls is None else walls[keep],
                              self.solver, eps=settings.CONIC_EPS)
        except SolverError:
            return None
        return (pol, keep) if pol.status in ACCEPT else None

    # ------------------------------------------------------------------ checking
    def _checked(self, neurons: Neurons, claimed: float | None) -> Verification:
        """The network of ``neurons`` after the exact refit, verified against ``claimed``."""
        neurons = refit_exactly(neurons, self.arr.vectors, self.Y, self.output_bias != "none",
                                self.norm_dims)
        net = build_network(self.problem.arch, neurons)
        return verify(self.problem, Candidate(network=net, how="", solver="", claimed=claimed))

    def _output_weight_refit(self, pos: np.ndarray, neg: np.ndarray, F: np.ndarray
                             ) -> tuple[Neurons, np.ndarray] | None:
        """The blocks' directions as fixed channels, output weights refitted.

        A small well-conditioned group lasso over the output weights
        (:func:`cbntheory.backends.conic.output_weights_lasso`; several outputs: the
        relaxation's directions).  Returns the neurons and the lasso's multipliers.
        """
        from ...backends import conic  # cvxpy is imported on first use, not with the package

        pats, dirs = block_directions(pos, neg, F, self.y_scale, self.norm_dims)
        if not len(pats):
            return None
        phi = np.einsum("jnr,jr->jn", F[pats], dirs)
        try:
            pol = conic.output_weights_lasso(phi, self.Y, output_bias=self.output_bias,
                                             accept=ACCEPT)
        except SolverError:
            return None
        return (neurons_from_output_weights(dirs, pol.values["v"], pol.values["bias"]),
                pol.duals["fit"])

    def _basis_refit(self, pos: np.ndarray, neg: np.ndarray, F: np.ndarray) -> Neurons | None:
        """One output: the blocks' directions as fixed channels, a vertex of the output LP.

        The interior-point answer of a degenerate program (many near-parallel patterns)
        spreads its weight over hundreds of blocks and fits the data only to its own
        tolerance, which the exact refit cannot repair when those channels are nearly
        dependent.  The linear program over the same directions
        (:func:`cbntheory.backends.conic.output_weights_basis`) ends at a vertex: at most
        N channels, a non-singular system refitted to round-off, and a norm no larger
        than the interior point's once its residual is removed.
        """
        from ...backends import conic  # cvxpy is imported on first use, not with the package

        if self.Y.shape[1] != 1 or self.output_bias == "penalized":
            return None
        _, dirs = block_directions(pos, neg, F, self.y_scale, self.norm_dims)
        if not len(dirs):
            return None
        # the channels' actual pooled ReLU outputs: an interior-point block may sit just
        # outside its cone, and then its pattern's features are not what the network computes
        phi = np.maximum(np.einsum("ndr,jr->jnd", self.arr.vectors, dirs), 0.0).mean(axis=2)
        try:
            lp = conic.output_weights_basis(phi, self.Y, output_bias=self.output_bias)
        except SolverError:
            return None
        if lp.status != OPTIMAL:
            return None
        v, bias = _solve_on_support(phi, self.Y, lp.values["v"], lp.values["bias"],
                                    self.output_bias == "free")
        return neurons_from_output_weights(dirs, v, bias)

    def _certificate(self, multipliers: list[np.ndarray], refine: bool = True
                     ) -> dict[str, Any]:
        """The best dual lower bound of ``multipliers`` against the known patterns.

        Without ``refine`` the screen's bounds are not refined by the exact NNLS: still
        certified, but the lower bound may be looser (a draft's, wanted for its
        violated patterns; the last round's is refined).
        """
        bound: dict[str, Any] = {"lower": None}
        if self.bound_cells is None or self.bound_F is None:
            return bound
        warm = self._warm_start()
        # the cones' facets are known for the program's own patterns only
        walls = self.walls if self.bound_cells is self.all_cells else None
        for lam in multipliers:
            b = dual_lower_bound(self.arr, self.bound_cells, self.bound_F, lam, self.Y,
                                 self.output_bias, self.free_hidden, warm=warm,
                                 refine=refine, walls=walls)
            if b["lower"] is not None and (bound["lower"] is None or b["lower"] > bound["lower"]):
                bound = b
        return bound

    def evaluate(self, sol: conic.ConicSolution,
                 polished: tuple[conic.ConicSolution, np.ndarray] | None = None,
                 bound: dict[str, Any] | None = None) -> Answer:
        """Network of a solution, verified; ``rank`` 0 = fits and (one output) norm matches.

        The network comes from ``polished`` (the program on the active patterns) when its
        optimum agrees with ``sol``'s to ``OBJECTIVE_RTOL``, else from ``sol``; the dual
        bound always uses ``sol``'s multipliers (feasible for every pattern in it), or is
        ``bound`` when given (computed already for a draft of the same solution).
        """
        cells, F = self.all_cells[self._subset], self.all_F[self._subset]
        net_sol = sol
        if polished is not None and abs(polished[0].objective - sol.objective) <= (
                settings.OBJECTIVE_RTOL * max(1.0, abs(sol.objective))):
            net_sol, keep = polished
            cells, F = cells[keep], F[keep]
        pos, neg, bias = net_sol.values["pos"], net_sol.values["neg"], net_sol.values["bias"]
        n_out = self.Y.shape[1]
        all_on = np.all(self.arr.active(cells) | (self.arr.index < 0)[None], axis=(1, 2))
        neurons = neurons_from_blocks(pos, neg, bias, all_on, F, self.y_scale, self.norm_dims,
                                      fold_constants=self.free_hidden, merge=n_out > 1)
        claimed = 2.0 * net_sol.objective if n_out == 1 else None  # the program's optimum
        check = self._checked(neurons, claimed)
        multipliers = [sol.duals["fit"]]
        options = [(neurons, check)]
        refit = self._output_weight_refit(pos, neg, F)
        if refit is not None:
            multipliers.append(refit[1])
            options.append((refit[0], self._checked(refit[0], claimed)))
        basis = self._basis_refit(pos, neg, F)  # one output: a vertex, fitted to round-off
        if basis is not None:
            options.append((basis, self._checked(basis, claimed)))
        if bound is None:
            bound = self._certificate(multipliers[:1] if self.first_multiplier_only
                                      else multipliers)
        neurons, check = _pick(options, float(bound.get("sensitivity") or 0.0))
        lower, upper = bound["lower"], check.norm
        gap = float("inf") if lower is None else (upper - lower) / max(1.0, abs(upper))
        # an inaccurate answer whose certificate does not close although every pattern is
        # in the program (so the gap is the solver's) is worth trying the next solver
        complete = self.bound_cells is not None and len(self._subset) == len(self.bound_cells)
        doubt = sol.status != OPTIMAL and complete and n_out == 1 and gap > settings.GAP_RTOL
        rank = (not check.fits) + (not check.claim_ok) + doubt
        return Answer(sol=sol, check=check, neurons=neurons, bound=bound,
                      gap=gap, rank=rank, multipliers=tuple(multipliers))


def _pick(options: list[tuple[Neurons, Verification]], sensitivity: float
          ) -> tuple[Neurons, Verification]:
    """The fitting network with the narrowest certified interval, else the first option.

    The lower bound drops by ``sensitivity`` times the network's residual
    (:func:`cbntheory.solvers.verify.finish`), so a network is ranked by its norm plus
    that drop: a slightly larger norm fitted to round-off can close an interval that a
    smaller norm fitted only to the solver's tolerance leaves open.
    """
    fitting = [o for o in options if o[1].fits]
    if not fitting:
        return options[0]
    return min(fitting, key=lambda o: o[1].norm + sensitivity * o[1].residual)


def _solve_on_support(phi: np.ndarray, Y: np.ndarray, v: np.ndarray, bias: np.ndarray,
                      free_bias: bool) -> tuple[np.ndarray, np.ndarray]:
    """The LP vertex's weights re-solved exactly on its support (signs kept), else as given.

    A vertex is the solution of the linear system of its non-zero channels (and the free
    bias); solving that system in float64 removes the simplex's feasibility tolerance
    (~1e-9) from the fit, changing the weights by as much.
    """
    on = np.flatnonzero(v[:, 0])
    A = phi[on].T
    if free_bias:
        A = np.hstack([A, np.ones((A.shape[0], 1))])
    if not len(on):
        return v, bias
    x, *_ = np.linalg.lstsq(A, Y, rcond=None)
    old = np.concatenate([v[on, 0], bias]) if free_bias else v[on, 0]
    if (np.any(np.sign(x[:len(on), 0]) != np.sign(old[:len(on)]))
            or np.linalg.norm(A @ x - Y) > np.linalg.norm(A @ old[:, None] - Y)):
        return v, bias
    v = v.copy()
    v[on, 0] = x[:len(on), 0]
    return v, (x[len(on):, 0] if free_bias else bias)
