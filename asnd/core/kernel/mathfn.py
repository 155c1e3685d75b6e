"""Transcendental functions of the compiled core, each defined once for every path.

numba lowers ``math.tanh`` and numpy's ``np.tanh`` to different code (numpy's SIMD loop
differs from libm by an ulp on about a quarter of inputs, numba's from numpy's on about 30%),
so a strategy evolved on columns could decide differently live. Every kernel (per row and
over columns, jitted or under ``NUMBA_DISABLE_JIT=1``) calls the functions here instead.

``tanh`` is fdlibm's algorithm (the one glibc's ``tanh`` uses), written on ``math.expm1``
(which numba and CPython both call in the C library, never vectorised or inlined) and IEEE
basic operations, so its results do not depend on the compiler: within 1 ulp of
``math.tanh`` everywhere and, on glibc, equal to it. Edge cases: ``tanh(-0.0)`` is ``-0.0``,
NaN stays NaN, ``tanh(+-inf)`` is ``+-1``, and no intermediate overflows (``expm1`` only
sees ``|2x| < 44``).

Compiled with the kernel's one decorator (``jit.kernel``: numpy's error model, so a float
division by zero gives inf or NaN instead of raising).
"""

from __future__ import annotations

import math

from asnd.core.kernel.jit import kernel

__all__ = ["tanh"]


#: Above this, tanh(x) rounds to 1.0 (fdlibm's threshold; true for |x| > 19.06).
_SATURATED = 22.0
#: Below this, tanh(x) rounds to x (x * (1 + x) keeps the inexact flag and the sign of zero).
_TINY = 2.0**-55


@kernel
def tanh(x: float) -> float:
    """Hyperbolic tangent (fdlibm's ``tanh`` on ``expm1``)."""
    ax = math.fabs(x)
    if not ax < _SATURATED:  # also NaN
        if math.isnan(x):
            return x
        return math.copysign(1.0, x)
    if ax < _TINY:
        return x * (1.0 + x)
    if ax >= 1.0:
        t = math.expm1(2.0 * ax)
        z = 1.0 - 2.0 / (t + 2.0)
    else:
        t = math.expm1(-2.0 * ax)
        z = -t / (t + 2.0)
    return z if x >= 0.0 else -z
