"""Shared test setup: Qt runs offscreen, and torch stays on a fixed thread count."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
