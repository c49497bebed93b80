"""The exact two-layer ReLU program: activation patterns, the group-lasso model, its
solution and its certificate."""
