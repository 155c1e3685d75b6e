"""The compiled core: numba kernels over flat integer and float state (see ARCHITECTURE.md)."""
