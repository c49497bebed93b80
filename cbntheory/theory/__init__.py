"""What is proved: the T1 closed form, Schatten arithmetic, the T2/T5 and Lipschitz bounds,
the explicit constructions and least-norm maps on finite data."""
