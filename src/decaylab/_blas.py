r"""Matrix products into C-ordered arrays through SciPy's BLAS, in place.

NumPy's ``matmul`` cannot add into its output, so ``w ← d·w − s·δᵀa`` through
NumPy takes a gradient buffer and three passes over it. BLAS ``gemm``
computes ``C ← α·op(A)·op(B) + β·C`` in place, without a buffer for the
product. SciPy's wrappers
(:mod:`scipy.linalg.blas`) expect Fortran order; a C-ordered (p, q) matrix is
the Fortran-ordered (q, p) matrix of its transpose, so every call here works
on transposes, which are views: nothing is copied, and C is written in place.

SciPy links its own BLAS library, with a thread pool separate from NumPy's.
The products of a training step go through this module (the ensemble's
small per-member products of its deeper layers aside, too small for BLAS to
split between threads), so that a step uses one pool: with the default two
threads in each, alternating between the two pools let their idle threads
compete for the cores, which made steps much slower on a busy machine.
``threadpoolctl.threadpool_limits(user_api="blas")`` limits both pools once
both are loaded: SciPy's BLAS is imported at the first product (or by
:func:`limit_threads`, before it looks for the pools), not by ``import
decaylab``, of whose time it was a third.
"""

from __future__ import annotations

import contextlib

import numpy as np


def scipy_blas():
    """:mod:`scipy.linalg.blas`, imported the first time it is needed."""
    from scipy.linalg import blas

    return blas


class BlasRoutines(dict):
    """One BLAS routine (``"gemm"``, ``"dot"``, …) by dtype: ``d…`` for float64, ``s…`` for float32.

    Each is taken from SciPy the first time its dtype is looked up; after that
    a lookup is a plain dict lookup, as cheap in a step as a dict filled at
    import. Another dtype raises KeyError (``get`` returns its default).
    """

    _PREFIX = {np.dtype(np.float64): "d", np.dtype(np.float32): "s"}

    def __init__(self, name: str):
        super().__init__()
        self.name = name

    def __missing__(self, dtype):
        prefix = self._PREFIX.get(dtype)
        if prefix is None:
            raise KeyError(dtype)
        routine = self[dtype] = getattr(scipy_blas(), prefix + self.name)
        return routine

    def get(self, dtype, default=None):
        try:
            return self[dtype]
        except KeyError:
            return default


_GEMM = BlasRoutines("gemm")
_GEMV = BlasRoutines("gemv")
_SYRK = BlasRoutines("syrk")
_GER = BlasRoutines("ger")
_SYMM = BlasRoutines("symm")
_COPY = BlasRoutines("copy")


def matmul_into(out: np.ndarray, left: np.ndarray, right: np.ndarray, *, alpha: float = 1.0,
                beta: float = 0.0) -> None:  # fmt: skip
    r"""``out ← α·left·right + β·out`` in place, one BLAS gemm.

    Parameters
    ----------
    out : ndarray, shape (p, q), C-contiguous, float64 or float32
        Overwritten (with β = 0 its contents are not read).
    left : ndarray, shape (p, r), C- or Fortran-contiguous (the transpose of
        a C-contiguous array), out's dtype
    right : ndarray, shape (r, q), C- or Fortran-contiguous, out's dtype
    alpha, beta : float

    Notes
    -----
    In Fortran order the call is ``outᵀ ← α·rightᵀ·leftᵀ + β·outᵀ``: a
    C-contiguous operand is passed as its (Fortran-contiguous) transpose,
    a Fortran-contiguous one as itself with the transpose flag. The wrapper
    is called with positional arguments: keywords cost SciPy's argument
    parser about a microsecond a call, as much as the product of a small
    layer.
    """
    a, trans_a, b, trans_b = _gemm_operands(left, right)
    out_fortran = out.T
    # gemm(alpha, a, b, beta, c, trans_a, trans_b, overwrite_c)
    result = _GEMM[out.dtype](alpha, a, b, beta, out_fortran, trans_a, trans_b, 1)
    # SciPy returns its argument itself when it wrote into it, a new array when it copied.
    if result is not out_fortran:
        raise RuntimeError(f"gemm copied its output of shape {out.shape}; expected it in place")


def _gemm_operands(left: np.ndarray, right: np.ndarray) -> tuple:
    """(a, trans_a, b, trans_b) for Fortran gemm computing (left·right)ᵀ = rightᵀ·leftᵀ.

    A C-contiguous array is its transpose in Fortran order: passed as is,
    with no copy; any other layout is passed transposed for gemm to read.
    """
    a, trans_a = (right.T, 0) if right.flags.c_contiguous else (right, 1)
    b, trans_b = (left.T, 0) if left.flags.c_contiguous else (left, 1)
    return a, trans_a, b, trans_b


def prepared_matmul(out: np.ndarray, left: np.ndarray, right: np.ndarray) -> tuple:
    """``(gemm, arguments)`` such that ``gemm(*arguments)`` does ``out ← left·right`` in place.

    For products whose operands are the same arrays at every step (views
    made once): the operands' order and flags are worked out here, and one
    call checks that SciPy writes into ``out`` (it does as long as the
    arrays keep their layout, which views do), so that a step calls the
    wrapper directly. ``out`` is overwritten by that call.
    """
    a, trans_a, b, trans_b = _gemm_operands(left, right)
    gemm, out_fortran = _GEMM[out.dtype], out.T
    arguments = (1.0, a, b, 0.0, out_fortran, trans_a, trans_b, 1)
    if gemm(*arguments) is not out_fortran:
        raise RuntimeError(f"gemm copied its output of shape {out.shape}; expected it in place")
    return gemm, arguments


def update_call(out: np.ndarray, left: np.ndarray, right: np.ndarray, *, alpha: float,
                beta: float) -> tuple:  # fmt: skip
    """``(gemm, arguments)`` such that ``gemm(*arguments)`` does ``out ← α·left·right + β·out``.

    Not called here (it would update ``out``): the caller checks that each call
    returns ``arguments[4]``, ``out`` itself, which SciPy returns when it wrote
    in place. Operands as for :func:`matmul_into`.
    """
    a, trans_a, b, trans_b = _gemm_operands(left, right)
    return _GEMM[out.dtype], (alpha, a, b, beta, out.T, trans_a, trans_b, 1)


def column_sums_call(y: np.ndarray, matrix: np.ndarray, ones: np.ndarray, *,
                     alpha: float) -> tuple:  # fmt: skip
    """``(gemv, arguments)`` such that ``gemv(*arguments)`` does :func:`add_column_sums`'s
    ``y ← y + α·Σ_rows matrix``; not called here, ``arguments[4]`` is ``y``."""
    return _GEMV[y.dtype], (alpha, matrix.T, ones, 1.0, y, 0, 1, 0, 1, 0, 1)


def prepared_gram(out: np.ndarray, a: np.ndarray) -> tuple:
    """``(syrk, arguments)`` such that ``syrk(*arguments)`` writes ``a·aᵀ`` into the upper
    triangle of ``out`` (diagonal included), in place; the rest of ``out`` is never written.

    ``a``, shape (k, i), C-contiguous; ``out``, shape (k, k), C-contiguous. A
    symmetric product takes half a general one's operations. As Fortran arrays
    aᵀ is (i, k) and the call is ``outᵀ ← (aᵀ)ᵀ·aᵀ`` into ``outᵀ``'s lower
    triangle; a later call may pass another (k, i) array's transpose in place of
    ``arguments[1]``. ``out``'s upper triangle is overwritten.
    """
    syrk, out_fortran = _SYRK[out.dtype], out.T
    # syrk(alpha, a, beta, c, trans, lower, overwrite_c)
    arguments = (1.0, a.T, 0.0, out_fortran, 1, 1, 1)
    if syrk(*arguments) is not out_fortran:
        raise RuntimeError(f"syrk copied its output of shape {out.shape}; expected it in place")
    return syrk, arguments


def prepared_symmetric_product(out: np.ndarray, symmetric: np.ndarray,
                               right: np.ndarray) -> tuple:  # fmt: skip
    """``(symm, arguments)`` such that ``symm(*arguments)`` does ``out ← S·right`` in place,
    S the symmetric matrix whose upper triangle (C order, diagonal included) ``symmetric``
    holds, as :func:`prepared_gram` leaves it; its lower triangle is never read.

    ``symmetric``, shape (k, k); ``right`` and ``out``, shape (k, o); all C-contiguous.
    As Fortran arrays the call is ``outᵀ ← rightᵀ·S`` (side = right), S read from
    the lower triangle of ``symmetric``'s transpose. ``out`` is overwritten here.
    """
    symm, out_fortran = _SYMM[out.dtype], out.T
    # symm(alpha, a, b, beta, c, side, lower, overwrite_c)
    arguments = (1.0, symmetric.T, right.T, 0.0, out_fortran, 1, 1, 1)
    if symm(*arguments) is not out_fortran:
        raise RuntimeError(f"symm copied its output of shape {out.shape}; expected it in place")
    return symm, arguments


def prepared_subtract_rows(out: np.ndarray, source: np.ndarray, row: np.ndarray,
                           ones: np.ndarray) -> list[tuple]:  # fmt: skip
    """Two ``(function, arguments)`` calls that do ``out ← source − row`` (``row``
    subtracted from every row), bit for bit NumPy's ``np.subtract(source, row, out)``.

    ``out`` and ``source``, shape (k, o), C-contiguous; ``row``, shape (o,); ``ones``,
    shape (k,), all ones. A BLAS copy, then ger with α = −1 (as
    :func:`prepared_add_rows`: each element source_ij + (−1·1)·row_j, one rounded
    sum): NumPy's broadcasting subtraction costs its iterator more than the
    arithmetic of a small batch. Not called here.
    """
    copy, ger = _COPY[out.dtype], _GER[out.dtype]
    flat = out.reshape(-1)
    if copy(source.reshape(-1), flat) is not flat:
        raise RuntimeError(f"copy wrote into a copy of its output of shape {out.shape}")
    return [(copy, (source.reshape(-1), flat)), (ger, (-1.0, row, ones, 1, 1, out.T, 1, 1, 1))]


def prepared_add_rows(out: np.ndarray, row: np.ndarray, ones: np.ndarray) -> tuple:
    """``(ger, arguments)`` such that ``ger(*arguments)`` adds ``row`` to every row of ``out``
    in place: ``out[i] += row`` for each i, bit for bit ``out += row``.

    ``out``, shape (k, o), C-contiguous; ``row``, shape (o,), contiguous; ``ones``,
    shape (k,), all ones; all of one dtype. NumPy's broadcasting ``out += row`` costs
    its iterator about a microsecond a call, more than the additions of a small
    batch. BLAS ger, the rank-one update outᵀ ← 1·row·onesᵀ + outᵀ (Fortran order),
    forms each element as out_ij + (1·1)·row_j with 1·1·row_j exact: one rounded
    sum, the same as NumPy's. Called once here, which adds ``row`` to ``out``:
    make it before ``out`` holds anything.
    """
    ger, out_fortran = _GER[out.dtype], out.T
    # ger(alpha, x, y, incx, incy, a, overwrite_x, overwrite_y, overwrite_a)
    arguments = (1.0, row, ones, 1, 1, out_fortran, 1, 1, 1)
    if ger(*arguments) is not out_fortran:
        raise RuntimeError(f"ger copied its output of shape {out.shape}; expected it in place")
    return ger, arguments


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
    # gemv(alpha, a, x, beta, y, offx, incx, offy, incy, trans, overwrite_y)
    result = _GEMV[y.dtype](alpha, matrix.T, ones, 1.0, y, 0, 1, 0, 1, 0, 1)
    if result is not y:
        raise RuntimeError(f"gemv copied its output of shape {y.shape}; expected it in place")


def limit_threads(threads: int | None):
    """A context holding NumPy's and SciPy's BLAS to ``threads`` threads (None: as they are).

    Training holds both pools to one thread by default: a step's products are
    small, and on a 2-core machine one thread ran epochs of [784, 30, 10] at
    batch 100 about three times faster than the libraries' two (two pools of
    two threads each contend for the cores); benchmarks/bench_training.py
    measures it. Without threadpoolctl this does nothing.
    """
    if threads is None:
        return contextlib.nullcontext()
    global _controller
    if _controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            return contextlib.nullcontext()
        # Finding the loaded libraries takes milliseconds (longer than an epoch of a
        # small network): done once, for NumPy's and SciPy's BLAS, SciPy's loaded here
        # so that the controller sees it.
        scipy_blas()
        _controller = ThreadpoolController()
    return _controller.limit(limits=threads, user_api="blas")


_controller = None


def check_threads(value: object) -> int | None:
    """``blas_threads``: None or an int >= 1."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"blas_threads={value!r} has type {type(value).__name__}; expected an int >= 1 or None"
        )
    if value < 1:
        raise ValueError(f"blas_threads={value!r}; expected an int >= 1 or None")
    return int(value)


def environment() -> dict:
    """What a reader needs to reproduce a run's numbers bit for bit.

    Returns
    -------
    dict
        ``decaylab``, ``python``, ``numpy`` and ``scipy`` versions, and ``blas``: one entry
        per BLAS library loaded (NumPy's and SciPy's may be one), each with its
        ``internal_api`` (e.g. "openblas"), ``version`` and ``architecture``, the kernel
        set it chose for this CPU (e.g. "Haswell", "SkylakeX"): a change of kernel changes
        the order of sums and so the last bits of every product.
    """
    import platform

    import scipy

    from decaylab._version import __version__

    scipy_blas()  # so that SciPy's BLAS is listed even before the first product
    try:
        from threadpoolctl import threadpool_info

        info = threadpool_info()
    except ImportError:  # threadpoolctl is a dependency; a bare install still reports
        info = []
    blas = []
    for pool in info:
        if pool.get("user_api") != "blas":
            continue
        entry = {key: pool.get(key) for key in ("internal_api", "version", "architecture")}
        if entry not in blas:
            blas.append(entry)
    return {
        "decaylab": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "blas": blas,
    }


def describe_environment(env: dict) -> str:
    """One line of :func:`environment`, e.g. "Python 3.11.7, NumPy 2.4.6, SciPy 1.16.3,
    openblas 0.3.31 (Haswell kernels)"."""
    blas = ", ".join(
        f"{b['internal_api']} {b['version']}"
        + (f" ({b['architecture']} kernels)" if b.get("architecture") else "")
        for b in env["blas"]
    )
    return (
        f"Python {env['python']}, NumPy {env['numpy']}, SciPy {env['scipy']}, "
        f"{blas or 'BLAS unknown'}"
    )
