"""The Trace on its own: numpy only, one matrix per selection, and the sides of each kind."""

import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import make_tiny_model


@pytest.fixture(scope="module")
def trace():
    return make_tiny_model().run("the small cat sleeps", "le petit chat dort")


def test_matrix_is_a_head_or_the_mean_or_max_over_heads(trace):
    stack = trace.attention["cross"]
    np.testing.assert_array_equal(trace.matrix("cross", 1, 3), stack[1, 3])
    np.testing.assert_allclose(trace.matrix("cross", 0, "mean"), stack[0].mean(axis=0), rtol=1e-6)
    strongest = trace.matrix("decoder", 1, "max")
    np.testing.assert_array_equal(strongest, trace.attention["decoder"][1].max(axis=0))
    assert strongest.dtype == np.float32 and trace.matrix("encoder", 0, "mean").flags.c_contiguous
    np.testing.assert_allclose(trace.matrix("encoder", 1, "mean").sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("kind, layer, head, problem", [
    ("sideways", 0, 0, "kind 'sideways' is not in this trace; it has encoder, decoder, cross"),
    ("cross", 2, 0, "layer 2 is out of range: cross has layers 0..1"),
    ("cross", -1, 0, "layer -1 is out of range"),
    ("cross", 0, 4, "head 4 is out of range: the model has heads 0..3"),
    ("cross", 0, "median", "head must be a number, 'mean' or 'max', not 'median'"),
])
def test_an_impossible_selection_names_what_is_wrong(trace, kind, layer, head, problem):
    with pytest.raises(ValueError, match=problem.replace("(", r"\(").replace(".", r"\.")):
        trace.matrix(kind, layer, head)


def test_each_kind_names_the_sides_of_its_rows_and_columns(trace):
    assert (trace.query_side("cross"), trace.key_side("cross")) == ("target", "source")
    assert trace.query_tokens("cross") == trace.target_tokens
    assert trace.key_tokens("cross") == trace.source_tokens
    assert trace.key_tokens("decoder") == trace.target_tokens
    assert trace.query_tokens("encoder") == trace.key_tokens("encoder") == trace.source_tokens


def test_the_trace_and_the_kind_table_import_without_torch():
    code = "import sys, engine.trace, engine.kinds; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("cores", [1, 2, 3])
def test_mean_and_max_of_heads_over_threads_equal_numpys_bit_for_bit(monkeypatch, cores):
    from engine import head_summary
    from engine.trace import Trace

    monkeypatch.setattr(head_summary, "PARALLEL_CELLS", 1)  # every size takes the threaded path
    monkeypatch.setattr(head_summary.os, "cpu_count", lambda: cores)
    monkeypatch.setattr(head_summary, "_pool", [])
    rng = np.random.default_rng(0)
    stack = rng.random((2, 5, 37, 41), dtype=np.float32)  # 37 rows: no even split
    stack[1, :, 3, 4] = np.nan
    trace = Trace([], ["t"] * 37, [], {"decoder": stack}, {}, None)
    for layer in range(2):
        np.testing.assert_array_equal(trace.matrix("decoder", layer, "mean"), stack[layer].mean(axis=0))
        np.testing.assert_array_equal(trace.matrix("decoder", layer, "max"), stack[layer].max(axis=0))
    mean = trace.matrix("decoder", 0, "mean")
    assert mean.dtype == np.float32 and mean.flags.c_contiguous and mean.shape == (37, 41)
