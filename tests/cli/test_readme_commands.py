"""Every ``python main.py export`` command in the README works as printed and writes its file.

A user copies these lines into a shell; this runs each one in-process (``main.main``, the same code
as the shell command, without a second interpreter), from a fresh folder, and reads the file back
the way the user's tools would.
"""

import csv
import re
import shlex
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from main import main

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
TRANSLATOR = ROOT / "assets" / "models" / "translator.safetensors"


def readme_export_commands(text: str) -> list[str]:
    """The ``python main.py export`` and ``report`` lines of the fenced code blocks, continuation
    lines joined."""
    commands = []
    for block in re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL):
        for line in re.sub(r"\s*\\\n\s*", " ", block).splitlines():
            line = line.strip()
            if line.startswith(("python main.py export", "python main.py report")):
                commands.append(line)
    return commands


COMMANDS = readme_export_commands(README.read_text(encoding="utf-8"))


def test_the_readme_has_export_examples_to_check():
    assert len(COMMANDS) >= 8
    joined = "\n".join(COMMANDS)
    for option in ("--view", "--hook", "--activation-head", "--clip-outliers", "--stack", "--all-heads",
                   "--lines"):
        assert option in joined, f"no README example uses {option}"


def test_continuation_lines_are_joined_and_other_blocks_are_skipped():
    text = ("```bash\n# a comment\npython main.py export --source \"a b\" \\\n    --out x.png\n"
            "python main.py --screenshot w.png\n```\n\npython main.py export --out prose.png\n")
    assert readme_export_commands(text) == ['python main.py export --source "a b" --out x.png']


def check_file(path: Path) -> None:
    """Non-empty, and of the kind its extension promises."""
    data = path.read_bytes()
    assert data, f"{path.name} is empty"
    suffix = path.suffix.lower()
    if suffix == ".png":
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
    elif suffix == ".pdf":
        assert data.startswith(b"%PDF-") and b"%%EOF" in data[-64:]
    elif suffix == ".svg":
        assert ET.parse(path).getroot().tag.endswith("svg")
    elif suffix == ".npz":
        with np.load(path, allow_pickle=False) as npz:
            assert npz.files
            for name in npz.files:
                npz[name]  # every array reads without pickle
    elif suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        assert len(rows) >= 2 and len(rows[0]) >= 2, "a header row and at least one row of numbers"
        assert all(len(row) == len(rows[0]) for row in rows)
    else:
        pytest.fail(f"the README writes {path.name}, a format this test does not know")


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_export_command_works(command, qapp, tmp_path, monkeypatch, capsys):
    args = shlex.split(command, comments=True)
    assert args[:2] == ["python", "main.py"] and args[2] in ("export", "report")
    out = Path(args[args.index("--out") + 1])
    monkeypatch.chdir(tmp_path)  # relative --out paths land here
    shutil.copyfile(TRANSLATOR, tmp_path / "model.safetensors")  # "another model" in the examples
    (tmp_path / "assets").symlink_to(ROOT / "assets")  # paths relative to the project still resolve

    code = main(args[2:])
    assert code == 0, f"{command}\n{capsys.readouterr().err}"
    check_file(tmp_path / out)
