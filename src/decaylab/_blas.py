r"""In-place BLAS updates of C-ordered matrices: the two calls eq. 93 is made of.

NumPy's ``matmul`` cannot add into its output, so ``w ← d·w − s·δᵀa`` through
NumPy takes a gradient buffer and three passes over it. BLAS ``gemm``
computes ``C ← α·op(A)·op(B) + β·C`` in one pass over C. SciPy's wrappers
(:mod:`scipy.linalg.blas`) expect Fortran order; a C-ordered (o, i) matrix is
the Fortran-ordered (i, o) matrix of its transpose, so every call here works
on transposes, which are views: nothing is copied, and C is written in place.

SciPy links its own BLAS library, a thread pool separate from NumPy's;
``threadpoolctl.threadpool_limits(user_api="blas")`` limits both, because
both are loaded when decaylab is imported.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import blas

_GEMM = {np.dtype(np.float64): blas.dgemm, np.dtype(np.float32): blas.sgemm}
_GEMV = {np.dtype(np.float64): blas.dgemv, np.dtype(np.float32): blas.sgemv}


def add_product(c: np.ndarray, left: np.ndarray, right: np.ndarray, *, alpha: float,
                beta: float) -> None:  # fmt: skip
    r"""``c ← β·c + α·leftᵀ·right`` in place, one BLAS gemm.

    Parameters
    ----------
    c : ndarray, shape (o, i), C-contiguous, float64 or float32
        Overwritten.
    left : ndarray, shape (m, o), C-contiguous, c's dtype
    right : ndarray, shape (m, i), C-contiguous, c's dtype
    alpha, beta : float

    Notes
    -----
    In Fortran order the call is ``cᵀ ← α·rightᵀ·left + β·cᵀ`` with cᵀ of
    shape (i, o), rightᵀ (i, m) and left passed as its Fortran (o, m)
    transpose with ``trans_b``.
    """
    c_fortran = c.T
    result = _GEMM[c.dtype](alpha, right.T, left.T, beta=beta, c=c_fortran, trans_b=1,
                            overwrite_c=1)  # fmt: skip
    # SciPy returns its argument itself when it wrote into it, a new array when it copied.
    if result is not c_fortran:
        raise RuntimeError(f"gemm copied its output of shape {c.shape}; expected it in place")


def add_column_sums(y: np.ndarray, matrix: np.ndarray, ones: np.ndarray, *,
                    alpha: float) -> None:  # fmt: skip
    r"""``y ← y + α·Σ_rows matrix`` in place, one BLAS gemv against a vector of ones.

    Parameters
    ----------
    y : ndarray, shape (o,), contiguous
        Overwritten.
    matrix : ndarray, shape (m, o), C-contiguous, y's dtype
    ones : ndarray, shape (m,), all ones, y's dtype
    alpha : float
    """
    result = _GEMV[y.dtype](alpha, matrix.T, ones, beta=1.0, y=y, overwrite_y=1)
    if result is not y:
        raise RuntimeError(f"gemv copied its output of shape {y.shape}; expected it in place")
