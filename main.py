"""Transformer Inspector: the GUI by default; ``export`` renders a plot or its data headlessly.

    python main.py [--checkpoint PATH] [--source TEXT] [--target TEXT] [--screenshot OUT.png]
    python main.py export [--checkpoint PATH] --source TEXT [--target TEXT] --kind cross \\
        --layer 0 --head 0|mean|max --out FILE.png|.svg|.pdf|.npz|.csv
    python main.py report [--checkpoint PATH] --source TEXT [--target TEXT] --out report.pdf
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "export":
        from visualizer.export.export_command import main as export_main

        return export_main(argv[1:])
    if argv and argv[0] == "report":
        from visualizer.export.report_command import main as report_main

        return report_main(argv[1:])
    from visualizer.app import run_app

    return run_app(argv)


if __name__ == "__main__":
    sys.exit(main())
