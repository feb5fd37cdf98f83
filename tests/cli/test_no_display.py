"""`python main.py` without a display says so, names the headless ways, and exits with code 2."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a display is an X11/Wayland matter")
def test_no_display_is_one_clear_line_and_exit_code_2(tmp_path):
    env = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
    env["XDG_CONFIG_HOME"] = str(tmp_path)  # nothing of the user's is touched, should it get that far
    start = time.monotonic()
    result = subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    elapsed = time.monotonic() - start
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "no display found" in lines[0]
    assert "--screenshot" in lines[0] and "python main.py export" in lines[0]
    assert "xcb" not in result.stderr  # not Qt's plugin abort
    assert elapsed < 20
