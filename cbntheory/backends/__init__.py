"""The only doors to third-party solvers: `conic` (cvxpy) and `optimize` (scipy.optimize)."""
