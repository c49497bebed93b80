"""T7 (conjectural): down-sampling in the bottleneck, when the CBN frequencies survive aliasing.

Stride-``s`` down-sampling folds frequency ``m`` onto ``m mod d/s``.  T7 says that when
the frequencies a target keeps in its bottleneck stay distinct after folding, the middle
layers can run at resolution ``d/s`` with the same leading cost ``Rank_CBN`` per layer.
For the shift autoencoder on ``Z_12`` (kept frequencies ``0, +-1``) stride 2 keeps them
distinct (``0, 1, 5`` mod 6) and stride 6 makes ``+1`` and ``-1`` collide (both ``1`` mod
2); :func:`cbntheory.measure.downsampling.aliasing` decides which case a stride is in.

For each stride and depth the certified interval of ``R(f; Omega, L)`` is measured with
the target's own architecture and with the middle layers down-sampled
(:func:`cbntheory.measure.downsampling.downsampled`: resample codes ``(s, 1, ..., 1, -s)``).
Lower bounds are the Lipschitz bound (valid with resampling: down-sampling and
zero-insertion up-sampling have operator norm 1); upper bounds the construction (plain
architecture only) and :func:`cbntheory.minimal_norm`'s verified network.  The claim row
for the down-sampled network is ``R_down(L) / L in [Rank_J, Rank_CBN + C / L]`` with
``C`` the plain construction's constant, i.e. down-sampling costs no more than the
plain CBN construction: "consistent" when the solver finds such a network, otherwise
"not_certified"; the ratio ``R_down / R_plain`` of the upper bounds is reported next to
the aliasing of the CBN frequencies.  A stride at which the up-sampling before the last
layer certifiably cannot reproduce the data at the check's width
(:func:`cbntheory.solvers.certificates.last_layer_residual`: at stride 6 the 12 shifts of
the bump need 6 channels into the last layer, the check has 4) is reported with that
certificate, and is still ``not_certified``: T7 presumes a down-sampled network that
represents ``f``.

Run ``python proofs_checks/t7_downsampling.py [--full]`` for the table.
"""
from __future__ import annotations

from typing import Any

from .. import settings, targets
from ..measure.downsampling import aliasing, downsampled
from ..nets.architecture import Architecture
from ..results import INFEASIBLE
from ..solvers.certificates import last_layer_residual
from ._measure import Interval, data_of, interval, unchecked_row
from .verdicts import CONJECTURAL, CheckReport, interval_row, summarize

TARGET = "shift_autoencoder_1d"
#: strides, depths, width and the solver's L-BFGS-B iterations per restart, per mode.
QUICK = ((2, 6), (3,), 4, settings.T7_QUICK_MAX_ITER)
FULL = ((2, 6), (3, 4), 4, settings.AL_MAX_ITER)


def _unmeasured(case: str, target: Any, quick: bool, arch: Architecture, down: Interval,
                extra: dict[str, Any]) -> dict[str, Any]:
    """The ``not_certified`` row of a stride without a verified down-sampled network.

    When the last layer's width certifiably cannot reach the data (at stride 6, through
    the up-sampling before it: :func:`cbntheory.solvers.certificates.last_layer_residual`),
    the row says so: the architecture does not represent ``f`` at this width, so T7's
    premise fails and the row tests nothing.
    """
    X, Y = data_of(target, quick)
    folded = last_layer_residual(arch, X, Y)
    if down.solver_status != INFEASIBLE or folded is None or folded.residual <= settings.FIT_RTOL:
        return unchecked_row(f"{case}: no verified down-sampled network "
                             f"({down.solver_status})", **extra)
    layer = arch.depth - 1
    return unchecked_row(
        f"{case}: no down-sampled network of width {folded.width} exists (certified: every "
        f"one leaves a relative residual >= {folded.residual:.2g}; the data need "
        f"channels[{layer}] >= {folded.width_needed(settings.FIT_RTOL)}); T7 assumes a "
        "down-sampled network that represents f, so this row tests nothing",
        certified_residual=folded.residual,
        certificate=folded.describe(settings.FIT_RTOL, layer), **extra)


def main(quick: bool = True) -> CheckReport:
    """Compare R(f; L) with and without down-sampling; returns the report."""
    strides, depths, width, limit = QUICK if quick else FULL
    t = targets.get(TARGET)
    assert t.cbn_vector is not None and t.rank_j is not None and t.rank_cbn is not None
    rows = []
    for L in depths:
        own = t.architecture(L, width=width)
        plain = interval(t, L, quick=quick, width=width, max_iter=limit)
        con = t.construction(L, width=width)
        assert con is not None
        for s in strides:
            info = aliasing(t.cbn_vector, s)
            down = interval(t, L, quick=quick, width=width, arch=downsampled(own, s),
                            max_iter=limit)
            case = (f"{TARGET} L={L} stride {s} ({'collide' if info.collide else 'distinct'}"
                    f"): R_down/L in [Rank_J, Rank_CBN + C/L]")
            extra = dict(aliasing=info.describe(), plain=plain.fields(), down=down.fields(),
                         ratio_down_over_plain=(down.upper / plain.upper
                                                if down.upper < float("inf") else None))
            if down.upper == float("inf"):
                rows.append(_unmeasured(case, t, quick, downsampled(own, s), down, extra))
                continue
            rows.append(interval_row(case, down.lower / L, down.upper / L, float(t.rank_j),
                                     t.rank_cbn + con.constant / L, **extra))
    return summarize(
        "T7", "down-sampling in the bottleneck: R(f; L)/L with and without stride-s "
        "down-sampling, frequencies distinct or colliding after aliasing", CONJECTURAL, rows,
        message=f"{TARGET}: Lipschitz lower bound, construction (plain) and verified "
                "minimal_norm networks; claim R_down/L <= Rank_CBN + C/L (C of the plain "
                "construction)")
