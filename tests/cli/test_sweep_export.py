"""``--view head-importance`` and ``--view patching``: the documented arrays, and every user error."""

import re

import numpy as np
import pytest

from engine.head_importance import head_importance
from engine.patching import patching
from main import main
from visualizer.export import export_command

CLEAN, CORRUPTED = "the small cat sees a red house .", "the small dog sees a red house ."
TARGET = "le petit chat voit"


def export(tmp_path, tiny_checkpoint, *args, out="out.npz"):
    return main(["export", "--checkpoint", str(tiny_checkpoint), *args, "--out", str(tmp_path / out)])


def test_patching_writes_every_documented_array(tmp_path, tiny_checkpoint):
    import engine

    assert export(tmp_path, tiny_checkpoint, "--view", "patching", "--kind", "encoder", "--clean", CLEAN,
                  "--corrupted", CORRUPTED, "--target", TARGET) == 0
    expected = patching(engine.load(tiny_checkpoint), CLEAN, CORRUPTED, TARGET)
    with np.load(tmp_path / "out.npz", allow_pickle=False) as data:
        np.testing.assert_array_equal(data["effect"], expected.effect)
        np.testing.assert_array_equal(data["matrix"], expected.effect)
        np.testing.assert_array_equal(data["head_effect"], expected.head_effect["encoder"])
        for kind in ("encoder", "decoder", "cross"):
            np.testing.assert_array_equal(data[f"head_effect_{kind}"], expected.head_effect[kind])
        assert data["clean_tokens"].tolist() == expected.clean_tokens
        assert data["corrupted_tokens"].tolist() == expected.corrupted_tokens
        assert data["target_tokens"].tolist() == ["<s>", "le", "petit", "chat", "voit", "</s>"]
        assert data["layers"].tolist() == ["L0 resid_pre", "L1 resid_pre"]
        assert str(data["head_effect_kind"]) == "encoder"
        assert float(data["m_clean"]) == pytest.approx(expected.m_clean)


def test_head_importance_csv_is_kl(tmp_path, tiny_checkpoint):
    import engine

    assert export(tmp_path, tiny_checkpoint, "--view", "head-importance", "--kind", "encoder",
                  "--source", CLEAN, "--target", TARGET, out="kl.csv") == 0
    rows = (tmp_path / "kl.csv").read_text().splitlines()
    assert rows[0] == "layer \\ head,H0,H1,H2,H3"
    values = np.array([[float(x) for x in row.split(",")[1:]] for row in rows[1:]])
    expected = head_importance(engine.load(tiny_checkpoint), CLEAN, "encoder", TARGET).kl
    np.testing.assert_allclose(values, expected, rtol=1e-6)


@pytest.mark.parametrize("args, message", [
    (["--view", "patching", "--clean", CLEAN], "--view patching needs --clean TEXT and --corrupted TEXT"),
    (["--view", "attention", "--source", CLEAN, "--clean", CLEAN],
     "--clean and --corrupted are for --view patching"),
    (["--view", "attention"], "--source TEXT is required"),
    (["--view", "patching", "--clean", CLEAN, "--corrupted", "the red dog"],
     r"corrupted has 4 \(the \| red \| dog \| </s>\)"),
])
def test_user_errors_name_the_problem(tmp_path, tiny_checkpoint, capsys, args, message):
    assert export(tmp_path, tiny_checkpoint, *args) == export_command.USAGE_ERROR
    err = capsys.readouterr().err
    assert err.startswith("export: error: ") and len(err.strip().splitlines()) == 1
    assert re.search(message, err), err
    assert not (tmp_path / "out.npz").exists()
