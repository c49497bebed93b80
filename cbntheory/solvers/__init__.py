"""`cbn.minimal_norm`: problem, case solvers (linear, ReLU, convex), the one verification path."""
