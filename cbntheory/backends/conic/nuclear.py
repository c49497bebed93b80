"""Per-frequency nuclear-norm programs for depth-2 linear CNNs on finite data."""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

import cvxpy as cp
import numpy as np

from ... import _validate as V
from ... import fourier, settings
from ...results import INFEASIBLE, OPTIMAL, STATUSES
from ._core import solve


@dataclasses.dataclass(frozen=True)
class NuclearNormSolution:
    """Per-frequency minimal nuclear norms: what :func:`nuclear_norm_interpolation` returns.

    Attributes
    ----------
    blocks : ndarray, complex, shape (*spatial, C_out, C_in)
        Minimisers ``A_m``, conjugate-symmetric (``A_{-m} = conj(A_m)``).
    norms : ndarray, shape spatial
        ``||A_m||_*`` recomputed in numpy from :attr:`blocks`.
    objectives : ndarray, shape spatial
        Objective reported by the solver for each program (partners copy theirs).
    residuals : ndarray, shape spatial
        ``||A_m X_m - Y_m||_F / max(1, ||Y_m||_F)`` recomputed in numpy.
    status : str
        Worst status over the programs.
    solver : str
        Solvers that answered (joined when several were needed).
    n_programs : int
        Programs solved (one per conjugate pair of frequencies).
    message : str
    wall_time : float
    """

    blocks: np.ndarray
    norms: np.ndarray
    objectives: np.ndarray
    residuals: np.ndarray
    status: str
    solver: str
    n_programs: int
    message: str
    wall_time: float


def _nuclear_program(cout: int, cin: int, r: int, real: bool) -> tuple[Any, ...]:
    """A parametrised program ``min ||A||_* s.t. A P = Q`` (compiled once per shape, DPP)."""
    R = cp.Variable((cout, cin), name="re")
    Pr, Qr = cp.Parameter((cin, r), name="p_re"), cp.Parameter((cout, r), name="q_re")
    if real:
        cons = [R @ Pr == Qr]
        return cp.Problem(cp.Minimize(cp.normNuc(R)), cons), R, None, (Pr, None, Qr, None)
    Im = cp.Variable((cout, cin), name="im")
    Pi, Qi = cp.Parameter((cin, r), name="p_im"), cp.Parameter((cout, r), name="q_im")
    cons = [R @ Pr - Im @ Pi == Qr, R @ Pi + Im @ Pr == Qi]
    # the real embedding [[Re, -Im], [Im, Re]] repeats every singular value of A twice
    objective = 0.5 * cp.normNuc(cp.bmat([[R, -Im], [Im, R]]))
    return cp.Problem(cp.Minimize(objective), cons), R, Im, (Pr, Pi, Qr, Qi)


def nuclear_norm_interpolation(Xh: np.ndarray, Yh: np.ndarray, *,
                               solver: str | Sequence[str] | None = None,
                               eps: float | None = None,
                               rank_rtol: float = settings.NUCLEAR_RANK_RTOL
                               ) -> NuclearNormSolution:
    """Minimise ``||A_m||_*`` subject to ``A_m X_m = Y_m``, one small program per frequency pair.

    Parameters
    ----------
    Xh : ndarray, complex, shape (*spatial, C_in, N)
        Full DFT of the inputs (``numpy.fft.fftn`` over the spatial axes), channels and
        samples last.
    Yh : ndarray, complex, shape (*spatial, C_out, N)
        Full DFT of the outputs.
    solver, eps
        Passed to :func:`solve`.
    rank_rtol : float
        Singular values of ``X_m`` below ``rank_rtol * max_m s_max(X_m)`` are dropped when
        the constraints are compressed.

    Returns
    -------
    NuclearNormSolution

    Notes
    -----
    A depth-2 linear CNN with full-size filters fitting the data costs
    ``(2/(d c^2)) sum_m ||A_m||_*`` at best (T1 with ``L = 2``), and the constraints
    decouple per frequency, so the convex program splits into one program per
    conjugate pair ``{m, -m}`` (the partner takes the conjugate block) — never a dense
    DFT matrix.  Self-conjugate frequencies get real programs.  The constraints are
    compressed to ``A_m (U_r S_r) = Y_m V_r`` with the SVD ``X_m = U S V^H`` of rank
    ``r`` (equivalent whenever the data are consistent); a complex block enters as the
    real embedding ``[[Re, -Im], [Im, Re]]``, whose nuclear norm is twice ``||A_m||_*``.
    Programs of the same shape are compiled once and re-solved with new parameters.

    Examples
    --------
    One channel, one sample: the least-norm multiplier ``y/x`` per frequency.

    >>> x = np.fft.fft([1.0, 2.0, 0.0, 0.0]).reshape(4, 1, 1)
    >>> y = np.fft.fft([0.0, 1.0, 2.0, 0.0]).reshape(4, 1, 1)     # the shift by one pixel
    >>> sol = nuclear_norm_interpolation(x, y)
    >>> bool(np.allclose(sol.norms, 1.0, atol=1e-7)), sol.n_programs
    (True, 3)
    """
    start = time.perf_counter()
    Xh = np.asarray(Xh, dtype=complex)
    Yh = np.asarray(Yh, dtype=complex)
    if Xh.ndim not in (3, 4) or Yh.shape[:-2] != Xh.shape[:-2] or Yh.shape[-1] != Xh.shape[-1]:
        raise V.fail("Yh", f"have shape (*spatial, C_out, {Xh.shape[-1]}) matching Xh "
                     f"{Xh.shape}", Yh)
    nd = Xh.ndim - 2
    shape = Xh.shape[:nd]
    cin, cout = Xh.shape[-2], Yh.shape[-2]
    blocks = np.zeros(shape + (cout, cin), dtype=complex)
    objectives = np.zeros(shape)
    reps = fourier.representative_mask(shape)
    selfc = fourier.self_conjugate_mask(shape)
    u, s, vh = np.linalg.svd(Xh, full_matrices=False)
    cut = rank_rtol * max(float(s.max(initial=0.0)), np.finfo(float).tiny)
    cache: dict[tuple[int, bool], tuple[Any, ...]] = {}
    worst, solvers, notes, count = OPTIMAL, [], [], 0
    for m in zip(*np.nonzero(reps)):
        r = int(np.sum(s[m] > cut))
        if r == 0:
            continue  # no constraint: the zero block is optimal
        real = bool(selfc[m])
        P = u[m][:, :r] * s[m][:r]
        Q = Yh[m] @ vh[m][:r].conj().T
        key = (r, real)
        if key not in cache:
            cache[key] = _nuclear_program(cout, cin, r, real)
        prob, R, Im, (Pr, Pi, Qr, Qi) = cache[key]
        Pr.value, Qr.value = np.ascontiguousarray(P.real), np.ascontiguousarray(Q.real)
        if not real:
            Pi.value, Qi.value = np.ascontiguousarray(P.imag), np.ascontiguousarray(Q.imag)
        names = {"re": R} if real else {"re": R, "im": Im}
        sol = solve(prob, names, solver=solver, eps=eps)
        count += 1
        if STATUSES.index(sol.status) > STATUSES.index(worst):  # the results' order
            worst = sol.status
            notes.append(f"frequency {tuple(int(i) for i in m)}: {sol.message}")
        if sol.solver not in solvers:
            solvers.append(sol.solver)
        if sol.status == INFEASIBLE:
            continue
        blocks[m] = sol.values["re"] + (0 if real else 1j * sol.values["im"])
        objectives[m] = sol.objective
    partner = ~reps
    blocks = np.where(partner[..., None, None], fourier.conjugate(blocks, nd).conj(), blocks)
    objectives = np.where(partner, fourier.conjugate(objectives, nd), objectives)
    norms = np.linalg.svd(blocks, compute_uv=False).sum(axis=-1)
    resid = (np.linalg.norm(blocks @ Xh - Yh, axis=(-2, -1))
             / np.maximum(1.0, np.linalg.norm(Yh, axis=(-2, -1))))
    message = (f"{count} programs ({len(cache)} compiled shapes), worst status {worst!r}"
               + (f"; {'; '.join(notes)}" if notes else ""))
    return NuclearNormSolution(blocks=blocks, norms=norms, objectives=objectives,
                               residuals=resid, status=worst, solver="+".join(solvers) or "none",
                               n_programs=count, message=message,
                               wall_time=time.perf_counter() - start)

