"""Private: solving the convex two-layer program, checking each answer, working sets.

Used by :func:`cbntheory.convex.two_layer_min_norm`.  :class:`ProgramSolver` solves the
group-lasso program (:func:`cbntheory.backends.conic.group_lasso`) on a subset of the patterns,
rebuilds the network, verifies it in numpy, computes the certified dual bound against
all patterns it knows, and moves on to the next conic solver when an answer does not
verify.  :meth:`ProgramSolver.solve_working_set` grows the subset of patterns until the
multipliers are feasible for every pattern (column generation on the group lasso).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ... import settings
from ...errors import InfeasibleError, SolverError
from ...nets.architecture import Architecture
from ...nets.network import Network
from ...results import INFEASIBLE, OPTIMAL, OPTIMAL_INACCURATE
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

if TYPE_CHECKING:  # pragma: no cover
    from ...backends import conic


def relative(diff: np.ndarray, ref: np.ndarray) -> float:
    """``||diff|| / ||ref||`` (absolute when ``ref`` is zero)."""
    scale = float(np.linalg.norm(ref))
    return float(np.linalg.norm(diff)) / (scale if scale > 0 else 1.0)


class ProgramSolver:
    """One call's data, the solver loop and the check of every conic answer."""

    def __init__(self, arch: Architecture, X: np.ndarray, Y: np.ndarray, arr: Arrangement,
                 cells: np.ndarray, F: np.ndarray, walls: np.ndarray | None, output_bias: str,
                 norm_dims: int, free_hidden: bool, tol: float,
                 solver: str | Sequence[str] | None) -> None:
        self.arch, self.X, self.Y, self.arr = arch, X, Y, arr
        self.all_cells, self.all_F, self.walls = cells, F, walls
        self.output_bias, self.norm_dims, self.free_hidden = output_bias, norm_dims, free_hidden
        self.tol, self.solver = tol, solver
        #: patterns (and features) against which dual certificates are checked, or None
        self.bound_cells: np.ndarray | None = None
        self.bound_F: np.ndarray | None = None
        self.tried: list[str] = []
        self.ws_info: dict[str, Any] = {"used": False}
        self._subset = np.arange(len(cells))

    # ------------------------------------------------------------------ one program
    def solve(self, subset: np.ndarray) -> dict[str, Any]:
        """Solve on the patterns ``subset`` with solver fallback; the best checked answer."""
        from ...backends import conic  # cvxpy is imported on first use, not with the package

        self._subset = subset
        cells, F = self.all_cells[subset], self.all_F[subset]
        walls = None if self.walls is None else self.walls[subset]
        order = conic.solver_order(self.solver)
        best: dict[str, Any] | None = None
        while order:
            try:
                sol = conic.group_lasso(F, self.arr.normals, cells, self.Y,
                                        norm_dims=self.norm_dims, output_bias=self.output_bias,
                                        walls=walls, solver=order,
                                        accept=(OPTIMAL, OPTIMAL_INACCURATE))
            except SolverError as exc:
                if best is None:
                    raise SolverError(f"{exc} (solvers tried before: {self.tried})") from None
                break
            self.tried += list(sol.tried)
            if sol.status == INFEASIBLE:
                raise InfeasibleError(f"the convex program is infeasible ({sol.message}) "
                                      "although the labels lie in the span of the features")
            cand = self.evaluate(sol, self._polish(sol, F, cells, walls))
            if best is None or cand["rank"] < best["rank"]:
                best = cand
            if cand["rank"] == 0:
                break
            order = order[order.index(sol.solver) + 1:]
        assert best is not None
        return best

    # ------------------------------------------------------------------ working set
    def solve_working_set(self, max_rounds: int = 40) -> dict[str, Any]:
        """Column generation: add the patterns whose dual constraint is violated.

        Start from the patterns that best correlate with the labels (largest
        ``kappa_D`` for the multiplier ``L = Y``, centred when the output bias is free),
        solve, bound ``kappa_D`` of the solver's multipliers for every pattern
        (:func:`cbntheory.solvers.convex.model.pattern_kappas`), add the most violated ones
        (``kappa_D > 1 + GAP_RTOL / 10``) and repeat.  When none is violated the
        multipliers are feasible for the full program, so the working-set solution is
        optimal for all patterns (and the certificate closes).
        """
        P, N = len(self.all_cells), self.Y.shape[0]
        self.bound_cells, self.bound_F = self.all_cells, self.all_F
        L0 = self.Y - (self.Y.mean(axis=0) if self.output_bias == "free" else 0.0)
        score = pattern_kappas(self.arr, self.all_cells, self.all_F, L0, self.free_hidden)
        order = np.argsort(-score, kind="stable")
        size = min(P, max(50, 4 * N))
        while size < P and not self._spans(order[:size]):
            size = min(P, 2 * size)  # the first program must be able to fit the labels
        subset = np.sort(order[:size])
        rounds = 0
        best: dict[str, Any] = {}
        while rounds < max_rounds:
            rounds += 1
            best = self.solve(subset)
            kappas = best["bound"].get("kappas")
            if kappas is None:
                break
            outside = np.setdiff1d(np.flatnonzero(kappas > 1 + settings.GAP_RTOL / 10), subset)
            if outside.size == 0:
                break
            add = outside[np.argsort(-kappas[outside], kind="stable")][:max(20, len(subset) // 2)]
            subset = np.union1d(subset, add)
        self.ws_info = {"used": True, "rounds": rounds, "patterns_in_program": int(len(subset)),
                        "patterns_total": int(P)}
        return best

    def _polish(self, sol: conic.ConicSolution, F: np.ndarray, cells: np.ndarray,
                walls: np.ndarray | None) -> tuple[conic.ConicSolution, np.ndarray] | None:
        """Re-solve on the patterns with an active block only: exactly sparse, accurate.

        Interior-point solutions leave every block slightly non-zero; dropping the small
        ones changes the fit and the norm by their sum.  The program restricted to the
        patterns whose blocks are active has a handful of blocks and is solved to full
        accuracy; its optimum is at least the full one (fewer patterns) and equal to it
        when the active set is right, which :meth:`evaluate` checks.
        """
        from ...backends import conic  # cvxpy is imported on first use, not with the package

        y_scale = float(np.linalg.norm(self.Y)) or 1.0
        blocks = np.concatenate([sol.values["pos"], sol.values["neg"]], axis=0)
        semi = np.linalg.norm(blocks[..., :self.norm_dims], axis=-1)
        keep = np.flatnonzero(np.any(active_blocks(semi, F, y_scale), axis=0))
        if len(keep) == len(cells):
            return None
        try:
            pol = conic.group_lasso(F[keep], self.arr.normals, cells[keep], self.Y,
                                    norm_dims=self.norm_dims, output_bias=self.output_bias,
                                    walls=None if walls is None else walls[keep],
                                    solver=self.solver, eps=settings.CONIC_EPS,
                                    accept=(OPTIMAL, OPTIMAL_INACCURATE))
        except SolverError:
            return None
        return (pol, keep) if pol.status in (OPTIMAL, OPTIMAL_INACCURATE) else None

    def _spans(self, subset: np.ndarray) -> bool:
        """Whether the features of ``subset`` (plus the output bias) can fit the labels."""
        N = self.Y.shape[0]
        A = self.all_F[subset].transpose(1, 0, 2).reshape(N, -1)
        if self.output_bias != "none":
            A = np.hstack([A, np.ones((N, 1))])
        coef, *_ = np.linalg.lstsq(A, self.Y, rcond=None)
        return relative(A @ coef - self.Y, self.Y) <= settings.FEASIBILITY_RTOL

    # ------------------------------------------------------------------ checking
    def _network(self, neurons: Neurons) -> tuple[Network, float, float]:
        neurons = refit_exactly(neurons, self.arr.vectors, self.Y, self.output_bias != "none",
                                self.norm_dims)
        net = build_network(self.arch, neurons)
        fit = relative(net(self.X) - self.Y, self.Y)
        return net, net.param_norm(), fit

    def evaluate(self, sol: conic.ConicSolution,
                 polished: tuple[conic.ConicSolution, np.ndarray] | None = None
                 ) -> dict[str, Any]:
        """Network of a solution, verified; ``rank`` 0 = fits and (one output) norm matches.

        The network comes from ``polished`` (the program on the active patterns) when its
        optimum agrees with ``sol``'s to ``OBJECTIVE_RTOL``, else from ``sol``; the dual
        bound always uses ``sol``'s multipliers (feasible for every pattern in it).
        """
        from ...backends import conic  # cvxpy is imported on first use, not with the package

        cells, F = self.all_cells[self._subset], self.all_F[self._subset]
        net_sol = sol
        if polished is not None and abs(polished[0].objective - sol.objective) <= (
                settings.OBJECTIVE_RTOL * max(1.0, abs(sol.objective))):
            net_sol, keep = polished
            cells, F = cells[keep], F[keep]
        pos, neg, bias = net_sol.values["pos"], net_sol.values["neg"], net_sol.values["bias"]
        n_out = self.Y.shape[1]
        y_scale = float(np.linalg.norm(self.Y)) or 1.0  # zero labels: absolute threshold
        all_on = np.all(self.arr.active(cells) | (self.arr.index < 0)[None], axis=(1, 2))
        neurons = neurons_from_blocks(pos, neg, bias, all_on, F, y_scale, self.norm_dims,
                                      fold_constants=self.free_hidden, merge=n_out > 1)
        net, upper, fit = self._network(neurons)
        notes: list[str] = []
        multipliers = [sol.duals["fit"]]
        if True:
            # the blocks' directions as fixed channels, output weights refitted by a small
            # well-conditioned group lasso (several outputs: the relaxation's directions)
            pats, dirs = block_directions(pos, neg, F, y_scale, self.norm_dims)
            if len(pats):
                phi = np.einsum("jnr,jr->jn", F[pats], dirs)
                try:
                    pol = conic.output_weights_lasso(phi, self.Y, output_bias=self.output_bias,
                                                     accept=(OPTIMAL, OPTIMAL_INACCURATE))
                    multipliers.append(pol.duals["fit"])
                    refit = neurons_from_output_weights(dirs, pol.values["v"],
                                                        pol.values["bias"])
                    cand = self._network(refit)
                    if cand[2] <= self.tol and (fit > self.tol or cand[1] < upper):
                        neurons = refit
                        net, upper, fit = cand
                except SolverError:
                    pass
        if fit > self.tol:
            notes.append(f"the reconstructed network misses the data by {fit:.3g} "
                         f"(> tol {self.tol:g})")
        program = 2.0 * net_sol.objective
        if n_out == 1 and abs(upper - program) > settings.OBJECTIVE_RTOL * max(1.0, program):
            notes.append(f"its norm {upper:.9g} differs from twice the program optimum "
                         f"{program:.9g}")
        bound: dict[str, Any] = {"lower": None}
        bcells, bfeats = self.bound_cells, self.bound_F
        if bcells is not None and bfeats is not None:
            for lam in multipliers:
                b = dual_lower_bound(self.arr, bcells, bfeats, lam, self.Y, self.output_bias,
                                     self.free_hidden)
                if b["lower"] is not None and (bound["lower"] is None
                                               or b["lower"] > bound["lower"]):
                    bound = b
        lower = bound["lower"]
        gap = float("inf") if lower is None else (upper - lower) / max(1.0, abs(upper))
        # an inaccurate answer whose certificate does not close although every pattern is
        # in the program (so the gap is the solver's) is worth trying the next solver
        complete = bcells is not None and len(self._subset) == len(bcells)
        doubt = sol.status != OPTIMAL and complete and n_out == 1 and gap > settings.GAP_RTOL
        return {"sol": sol, "net": net, "neurons": neurons, "upper": upper, "fit": fit,
                "notes": notes, "rank": len(notes) + doubt, "bound": bound, "gap": gap}
