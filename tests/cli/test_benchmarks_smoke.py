"""`python -m benchmarks --quick --tiny --only ROW` writes RESULTS.md with that row's ratio and verdict.

The figures of toy models mean nothing and are not asserted; the table's shape is.
"""

import re

from benchmarks.__main__ import main


def test_one_cheap_row_lands_in_the_results_table_with_its_ratio_and_pass_or_miss(tmp_path):
    out = tmp_path / "RESULTS.md"
    assert main(["--quick", "--tiny", "--only", "record-cost", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "load average (1 / 5 / 15 min):" in text and "CPU:" in text and "torch" in text
    header = next(line for line in text.splitlines() if line.startswith("| row |"))
    columns = [cell.strip() for cell in header.strip("|").split("|")]
    assert columns[:6] == ["row", "what", "issue 11 measured", "target", "measured", "pass/miss"]
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert len(rows) == 1  # --only: that row alone
    cells = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert cells[0] == "`record-cost`" and cells[3] == "≤ 1.1×"
    assert re.fullmatch(r"\d+\.\d\d×", cells[4])  # a ratio of medians
    assert cells[5] in ("pass", "miss")
    assert (float(cells[4][:-1]) <= 1.1) == (cells[5] == "pass")
