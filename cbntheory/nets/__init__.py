"""Networks: `Architecture`, `Network`, the FFT engine (private: `_engine`, `_layers`),
Jacobians, parameter vectors and files."""
