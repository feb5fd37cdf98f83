"""`python main.py --screenshot FILE.png` renders the window with a trace and exits."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage

ROOT = Path(__file__).resolve().parents[2]


def run_main(*args, settings_home, timeout=240):
    # XDG_CONFIG_HOME: the app's recent-files list goes to a temporary folder, not the user's.
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS="1",
               XDG_CONFIG_HOME=str(settings_home))
    return subprocess.run([sys.executable, "main.py", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_screenshot_renders_the_window_with_a_heatmap(tmp_path, tiny_checkpoint):
    out = tmp_path / "window.png"
    result = run_main("--screenshot", out, "--checkpoint", tiny_checkpoint, "--source", "the dog runs",
                      settings_home=tmp_path / "config")
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = QImage(str(out)).convertToFormat(QImage.Format_RGB32)
    assert (image.width(), image.height()) == (1400, 900)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    colours = np.unique(pixels[:, : image.width() * 4].reshape(-1, 4)[:, :3], axis=0)
    assert len(colours) > 200  # a rendered heatmap and text, not a blank or half-drawn window
    recent = (tmp_path / "config" / "TransformerInspector" / "Transformer Inspector.ini").read_text()
    assert tiny_checkpoint.name in recent  # remembered, in the redirected settings only


def test_screenshot_with_a_broken_checkpoint_fails_with_the_reason(tmp_path):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"garbage")
    result = run_main("--screenshot", tmp_path / "out.png", "--checkpoint", broken,
                      settings_home=tmp_path / "config")
    assert result.returncode == 1
    assert "broken.safetensors" in result.stderr and "not a checkpoint" in result.stderr
