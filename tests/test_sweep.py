"""sweep and grid_product: tidy rows in grid order, errors kept per configuration, executors."""

from __future__ import annotations

import concurrent.futures
import functools
import multiprocessing
import re
import sys
import threading
import warnings

import numpy as np
import pytest
import threadpoolctl

import decaylab as dl


def _problem():
    rng = np.random.default_rng(0)
    return rng.uniform(-1.0, 1.0, (40, 6)), rng.integers(0, 3, 40)


def train_small(lmbda: float, eta: float = 0.5, epochs: int = 2) -> dict:
    """A module-level fn, so that process-based executors can pickle it."""
    if lmbda < 0:
        raise ValueError(f"lmbda={lmbda} must be >= 0")
    net = dl.Network([6, 5, 3], seed=1)
    history = dl.train(net, _problem(), epochs=epochs, batch_size=8, eta=eta, lmbda=lmbda, seed=2)
    return {
        "cost": float(history.training_cost[-1]),
        "norm": float(history.weights.total.norm[-1]),
        "history": history,
    }


def square(x):
    return {"square": x * x}


def test_grid_product_is_the_cartesian_product_last_axis_fastest():
    assert dl.grid_product(eta=[0.1, 0.5], lmbda=[0.0, 1.0, 5.0]) == [
        {"eta": 0.1, "lmbda": 0.0},
        {"eta": 0.1, "lmbda": 1.0},
        {"eta": 0.1, "lmbda": 5.0},
        {"eta": 0.5, "lmbda": 0.0},
        {"eta": 0.5, "lmbda": 1.0},
        {"eta": 0.5, "lmbda": 5.0},
    ]


@pytest.mark.parametrize(
    ("axes", "error", "message"),
    [
        ({"eta": 0.5}, TypeError, r"eta=0.5 has type float; expected a sequence"),
        ({"decay": "sum"}, TypeError, "decay='sum' has type str"),
        ({"eta": []}, ValueError, "eta is empty"),
    ],
)
def test_grid_product_rejects_axes_that_are_not_sequences_of_values(axes, error, message):
    with pytest.raises(error, match=message):
        dl.grid_product(**axes)


def test_serial_rows_hold_the_config_and_fn_results_in_grid_order():
    grid = dl.grid_product(lmbda=[0.0, 1.0, 5.0], eta=[0.3])
    result = dl.sweep(grid, train_small)
    for row, config in zip(result.rows, grid):
        expected = train_small(**config)
        assert row == {**config, "cost": expected["cost"], "norm": expected["norm"], "error": None}


def test_histories_are_returned_in_grid_order():
    grid = dl.grid_product(lmbda=[5.0, 0.0])
    result = dl.sweep(grid, train_small)
    assert [h.settings["lmbda"] for h in result.histories] == [5.0, 0.0]


def test_fn_may_return_a_history_alone():
    def history_only(lmbda):
        return train_small(lmbda)["history"]

    result = dl.sweep([{"lmbda": 1.0}], history_only)
    assert result.rows == [{"lmbda": 1.0, "error": None}]
    assert result.histories[0].settings["lmbda"] == 1.0


def test_a_failing_configuration_is_an_error_row_and_the_others_are_kept():
    grid = dl.grid_product(lmbda=[0.0, -1.0, 5.0])
    result = dl.sweep(grid, train_small)
    assert result.rows[1] == {"lmbda": -1.0, "error": "ValueError: lmbda=-1.0 must be >= 0"}
    assert [row["error"] for row in result.rows] == [None, result.rows[1]["error"], None]
    assert result.rows[2]["cost"] == train_small(5.0)["cost"]
    assert result.histories[1] is None


def test_errors_list_the_failed_configurations_with_tracebacks():
    result = dl.sweep(dl.grid_product(lmbda=[0.0, -1.0, -2.0]), train_small)
    assert [(e["index"], e["config"]) for e in result.errors] == [
        (1, {"lmbda": -1.0}),
        (2, {"lmbda": -2.0}),
    ]
    assert "in train_small" in result.errors[0]["traceback"]


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        (np.zeros(3), r"^TypeError: fn returned ndarray; expected a dict of scalars"),
        ({"values": [1, 2]}, r"^TypeError: fn returned values=\[1, 2\] of type list; expected"),
        ({"error": 1.0}, r"^ValueError: fn returned the key 'error', which is reserved"),
        ({"x": 2.0}, r"^ValueError: fn returned the key 'x', which is a parameter"),
    ],
)
def test_results_that_are_not_a_table_become_error_rows(returned, message):
    with pytest.warns(RuntimeWarning, match="every one of the 1 configurations failed"):
        result = dl.sweep([{"x": 1.0}], lambda x: returned)
    assert re.search(message, result.rows[0]["error"])


def test_two_histories_in_one_result_are_an_error():
    history = train_small(0.0)["history"]
    with pytest.warns(RuntimeWarning, match="every one"):
        result = dl.sweep([{"x": 1}], lambda x: {"a": history, "b": history})
    assert result.rows[0]["error"].startswith("ValueError: fn returned two Histories")


def test_numpy_scalars_become_python_scalars():
    result = dl.sweep([{"x": 3}], lambda x: {"value": np.float64(x) / 2, "count": np.int64(x)})
    assert result.rows[0] == {"x": 3, "value": 1.5, "count": 3, "error": None}
    assert type(result.rows[0]["value"]) is float and type(result.rows[0]["count"]) is int


class _ReverseOrder:
    """fn for a thread pool in which configuration i finishes only after i + 1 has."""

    def __init__(self, n: int):
        self.finished = [threading.Event() for _ in range(n + 1)]
        self.finished[n].set()
        self.order: list[int] = []

    def __call__(self, i: int) -> dict:
        assert self.finished[i + 1].wait(timeout=30)
        self.order.append(i)
        self.finished[i].set()
        return {"twice": 2 * i}


def test_rows_follow_the_grid_whatever_order_the_calls_finish_in():
    fn = _ReverseOrder(4)
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as executor:
        result = dl.sweep([{"i": i} for i in range(4)], fn, executor=executor)
    assert fn.order == [3, 2, 1, 0]
    assert [row["twice"] for row in result.rows] == [0, 2, 4, 6]


def test_process_pool_results_equal_the_serial_ones():
    grid = dl.grid_product(x=[1, 2, 3])
    with concurrent.futures.ProcessPoolExecutor(max_workers=2) as executor:
        parallel = dl.sweep(grid, square, executor=executor)
    assert parallel.rows == dl.sweep(grid, square).rows


class _CountingProcessPool(concurrent.futures.ProcessPoolExecutor):
    """A process pool that counts what was submitted to it."""

    submitted = 0

    def submit(self, *args, **kwargs):
        self.submitted += 1
        return super().submit(*args, **kwargs)


class _DaskLike(concurrent.futures.ThreadPoolExecutor):
    """Runs in threads but is named like Dask's executor, which sends calls with cloudpickle."""


_DaskLike.__module__ = "distributed.cfexecutor"


def test_a_function_that_cannot_be_pickled_is_refused_before_submitting():
    with _CountingProcessPool(max_workers=1) as executor:
        with pytest.raises(
            TypeError,
            match=r"fn=<function .*<lambda>.*> cannot be sent to the worker processes of "
            r"_CountingProcessPool: pickle fails with .*Expected a function defined at module",
        ):
            dl.sweep([{"x": 1}], lambda x: {"y": x}, executor=executor)
        assert executor.submitted == 0


def test_a_configuration_that_cannot_be_pickled_is_refused_naming_it():
    grid = [{"x": 1}, {"x": 2, "lock": threading.Lock()}]
    with _CountingProcessPool(max_workers=1) as executor:
        with pytest.raises(TypeError, match=r"grid\[1\]\['lock'\]=<.*lock.*> cannot be sent"):
            dl.sweep(grid, square, executor=executor)
        assert executor.submitted == 0


def test_dask_like_executors_are_checked_with_cloudpickle():
    pytest.importorskip("cloudpickle")
    with _DaskLike(max_workers=1) as executor:
        # cloudpickle sends lambdas by value: accepted, and run.
        result = dl.sweep([{"x": 3}], lambda x: {"y": x + 1}, executor=executor)
        assert result.rows == [{"x": 3, "y": 4, "error": None}]
        with pytest.raises(TypeError, match=r"grid\[0\]\['lock'\].*cloudpickle fails"):
            dl.sweep([{"lock": threading.Lock()}], square, executor=executor)


def test_threads_receive_what_cannot_be_pickled():
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as executor:
        result = dl.sweep([{"x": 2}], lambda x: {"y": x}, executor=executor)
    assert result.rows == [{"x": 2, "y": 2, "error": None}]


def _defined_interactively(x):
    return {"y": x}


def test_an_interactive_function_is_refused_by_a_spawning_pool(monkeypatch):
    main = sys.modules["__main__"]
    monkeypatch.setattr(_defined_interactively, "__module__", "__main__")
    monkeypatch.setattr(main, "_defined_interactively", _defined_interactively, raising=False)
    monkeypatch.delattr(main, "__file__", raising=False)
    context = multiprocessing.get_context("spawn")
    with _CountingProcessPool(max_workers=1, mp_context=context) as executor:
        with pytest.raises(TypeError, match=r"defined in an interactive session.*'spawn'"):
            dl.sweep([{"x": 1}], _defined_interactively, executor=executor)
        assert executor.submitted == 0


def test_a_sweep_in_which_every_configuration_failed_warns():
    with pytest.warns(RuntimeWarning, match=r"every one of the 2 configurations failed; the first"):
        result = dl.sweep(dl.grid_product(lmbda=[-1.0, -2.0]), train_small)
    assert len(result.errors) == 2


def test_a_sweep_with_one_success_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dl.sweep(dl.grid_product(x=[1, -1]), lambda x: square(x) if x > 0 else 1 / 0)


def blas_threads_seen(x):
    """A module-level fn that reports how many threads BLAS may use where it runs."""
    return {"threads": _blas_threads()}


def _blas_threads():
    return max(i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas")


@pytest.mark.parametrize(("blas_threads", "expected"), [(1, 1), (None, 2), (3, 3)])
def test_process_workers_hold_blas_to_blas_threads(blas_threads, expected):
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("needs forked workers, which start with this process's BLAS threads")
    # Forked workers start with the 2 threads set here; the sweep's limit then applies.
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        if _blas_threads() != 2:
            pytest.skip("this BLAS cannot run 2 threads: the limit cannot be told apart")
        context = multiprocessing.get_context("fork")
        with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            result = dl.sweep(
                [{"x": 0}], blas_threads_seen, executor=pool, blas_threads=blas_threads
            )
    assert result.rows[0]["threads"] == expected


@pytest.mark.parametrize("threads", [1, 2])
def test_calls_in_this_process_keep_its_blas_threads(threads):
    with threadpoolctl.threadpool_limits(limits=threads, user_api="blas"):
        if _blas_threads() != threads:
            pytest.skip(f"this BLAS cannot run {threads} threads")
        assert dl.sweep([{"x": 0}], blas_threads_seen).rows[0]["threads"] == threads


def _sum_of(values, scale):
    return {"total": float(scale * values.sum())}


def test_a_large_array_in_fn_passes_the_check():
    # Arrays pickle their data as buffers (protocol 5), not as bytes.
    fn = functools.partial(_sum_of, np.ones(200_000))
    with _CountingProcessPool(max_workers=1) as executor:
        result = dl.sweep([{"scale": 2.0}], fn, executor=executor)
    assert result.rows == [{"scale": 2.0, "total": 400_000.0, "error": None}]


def _interrupt_on(value):
    def fn(x):
        if x == value:
            raise KeyboardInterrupt
        return square(x)

    return fn


def test_ctrl_c_keeps_the_completed_configurations():
    grid = dl.grid_product(x=[1, 2, 3, 4])
    with pytest.raises(dl.SweepInterrupted, match=r"2 of 4 configurations completed") as info:
        dl.sweep(grid, _interrupt_on(3))
    result = info.value.result
    assert [row.get("square") for row in result.rows] == [1, 4, None, None]
    assert result.completed == [True, True, False, False]
    assert result.pending == [{"x": 3}, {"x": 4}]


def test_ctrl_c_in_an_executor_keeps_the_completed_configurations():
    grid = dl.grid_product(x=[1, 2, 3, 4])
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as executor:
        with pytest.raises(dl.SweepInterrupted) as info:
            dl.sweep(grid, _interrupt_on(3), executor=executor)
    assert [row.get("square") for row in info.value.result.rows] == [1, 4, None, None]


def test_resume_runs_only_the_pending_configurations():
    grid = dl.grid_product(x=[1, 2, 3, 4])
    with pytest.raises(dl.SweepInterrupted) as info:
        dl.sweep(grid, _interrupt_on(3))
    calls = []

    def counting(x):
        calls.append(x)
        return square(x)

    resumed = dl.sweep(grid, counting, resume=info.value.result)
    assert calls == [3, 4]
    assert resumed.rows == dl.sweep(grid, square).rows


def test_resume_with_another_grid_is_rejected():
    with pytest.raises(dl.SweepInterrupted) as info:
        dl.sweep(dl.grid_product(x=[1, 2, 3]), _interrupt_on(2))
    with pytest.raises(ValueError, match="resume holds a sweep over another grid"):
        dl.sweep(dl.grid_product(x=[1, 2]), square, resume=info.value.result)


def test_to_frame_has_one_row_per_configuration():
    pytest.importorskip("pandas")
    frame = dl.sweep(dl.grid_product(x=[1, 2, -1]), square).to_frame()
    assert list(frame.columns) == ["x", "square", "error"]
    assert frame["square"].tolist() == [1, 4, 1]


# (grid, fn, executor, error, message)
BAD = [
    ({"x": [1, 2]}, square, None, TypeError, "grid has type dict; expected a list of dicts"),
    ([], square, None, ValueError, "grid is empty"),
    ([{"x": 1}, 2], square, None, TypeError, r"grid\[1\]=2 is not a dict"),
    ([{"error": 1}], square, None, ValueError, r"grid\[0\] has the key 'error'"),
    ([{"x": 1}], "square", None, TypeError, "fn='square' has type str; expected a callable"),
    ([{"x": 1}], square, 2, TypeError, "executor has type int; expected None or a"),
]


@pytest.mark.parametrize(("value", "error"), [(0, ValueError), (1.5, TypeError)])
def test_bad_blas_threads_is_rejected(value, error):
    with pytest.raises(error, match=f"blas_threads={value}"):
        dl.sweep([{"x": 1}], square, blas_threads=value)


@pytest.mark.parametrize(("grid", "fn", "executor", "error", "message"), BAD)
def test_bad_arguments_are_rejected(grid, fn, executor, error, message):
    with pytest.raises(error, match=message):
        dl.sweep(grid, fn, executor=executor)


@pytest.fixture(scope="module")
def dask_executor():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client.get_executor()


@pytest.mark.slow
def test_dask_local_cluster_sweep_equals_the_serial_sweep(dask_executor):
    grid = dl.grid_product(lmbda=[0.0, 1.0, -1.0, 5.0], eta=[0.5])
    parallel = dl.sweep(grid, train_small, executor=dask_executor)
    serial = dl.sweep(grid, train_small)
    # Same code, same single-threaded arithmetic on these small matrices: equal bit for bit.
    assert parallel.rows == serial.rows
    assert parallel.rows[2]["error"] == "ValueError: lmbda=-1.0 must be >= 0"
    for got, expected in zip(parallel.histories, serial.histories):
        assert (got is None) == (expected is None)
        if got is not None:
            for name, array in got.to_arrays().items():
                np.testing.assert_array_equal(array, expected.to_arrays()[name], err_msg=name)
