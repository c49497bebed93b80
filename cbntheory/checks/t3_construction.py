"""T3, upper side (exact): the explicit CBN networks certify ``R(f; L) <= L Rank_CBN + C(g, h)``.

For every built-in target with a construction (:mod:`cbntheory.theory.construction`: the
shift autoencoders, the bump times a pattern, the invariant pool) and several depths,
the rows check, with numpy only:

* the network reproduces the data (relative residual <= FIT_RTOL), so its norm is an
  upper bound of ``R(f; Omega, L)``;
* its norm grows by exactly ``Rank_CBN`` per added layer (``norm(L) - norm(3) =
  (L - 3) Rank_CBN``): the middle layers are projections of cost ``sum_m k_m``;
* every hidden activation is non-negative on the data (the ReLU acts as the identity on
  the bottleneck), and the bottleneck's span dimension at every frequency, computed
  with ``numpy.fft`` and ``matrix_rank``, equals the documented ``k_m``;
* the certified Lipschitz lower bound (:mod:`cbntheory.theory.lipschitz`) lies below the
  construction's norm (two certified bounds must not cross).

Run ``python proofs_checks/t3_construction.py [--full]`` for the table.
"""
from __future__ import annotations

import numpy as np

from .. import settings, targets
from ..measure.structure import frequency_span
from ..results import relative_residual
from ..theory.lipschitz import lipschitz_lower_bound
from .verdicts import EXACT, CheckReport, compare_equal, compare_leq, summarize

TARGETS = ("invariant_pool", "shift_autoencoder_1d", "shift_autoencoder_2d", "shape_pattern_1d")


def main(quick: bool = True) -> CheckReport:
    """Check the CBN constructions; returns a :class:`~cbntheory.checks.verdicts.CheckReport`."""
    depths = (2, 3, 8) if quick else (2, 3, 4, 6, 8, 16, 32)
    rows = []
    for name in TARGETS:
        t = targets.get(name)
        data = t.data(quick=quick)
        ref = t.construction(3)
        assert data is not None
        X, Y = data
        assert ref is not None and t.rank_cbn is not None and t.cbn_vector is not None
        for L in depths:
            con = t.construction(L)
            assert con is not None
            net = con.network
            case = f"{name} L={L}"
            resid = relative_residual(net(X), Y)
            rows.append(compare_leq(f"{case}: reproduces the data (relative residual)", resid,
                                    settings.FIT_RTOL, rtol=0.0, norm=con.norm,
                                    bound=f"{L} * {t.rank_cbn} + {con.constant:.4g}"))
            if L >= 3:
                rows.append(compare_equal(f"{case}: norm(L) - norm(3) = (L - 3) Rank_CBN",
                                          con.norm - ref.norm, (L - 3) * t.rank_cbn))
            acts = net.activations(X)
            hidden_min = min(float(a.min()) for a in acts) if acts else 0.0
            rows.append(compare_leq(f"{case}: hidden activations >= 0 (min)", -hidden_min, 0.0,
                                    rtol=0.0))
            bottleneck = 1 if t.head == "avgpool" else 0
            if L >= 3:
                spans = frequency_span(acts[bottleneck][:, :1],
                                       rtol=settings.CONSTRUCTION_SPAN_RTOL).span_dims
                wrong = int(np.sum(spans != t.cbn_vector))
                rows.append(compare_equal(f"{case}: bottleneck spans = k_m (frequencies that "
                                          "differ)", float(wrong), 0.0, rtol=0.0,
                                          spans=spans.ravel().tolist()))
            low = lipschitz_lower_bound(net.architecture, X, Y)
            rows.append(compare_leq(f"{case}: Lipschitz lower bound <= construction norm",
                                    low.value, con.norm))
    return summarize(
        "T3-construction", "explicit CBN networks reproduce the data with norm "
        "L Rank_CBN + C(g, h), an upper bound of R(f; Omega, L)", EXACT, rows,
        message=f"targets {', '.join(TARGETS)}; depths {depths}; fit tolerance "
                f"{settings.FIT_RTOL:g}, equality rtol {settings.INEQUALITY_RTOL:g}, spans by "
                f"frequency_span with relative threshold {settings.CONSTRUCTION_SPAN_RTOL:g}")
