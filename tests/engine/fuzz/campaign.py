"""A bigger fuzz run than CI's, outside pytest:

    python -m tests.engine.fuzz.campaign --cases 300 --seed 7 [--formats bart t5]

builds the base files (transformers is needed for the Hugging Face folders), runs ``--cases``
cases of every format and prints each format's outcomes and every failing case.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from tests.engine.fuzz.runner import Fuzzer

FORMATS = ("native", "pt", "marian", "bart", "t5", "bert", "gpt2")


def build_bases(root: Path, formats) -> dict[str, Path]:
    """The undamaged file or folder of each format, written under ``root``."""
    from tests.conftest import make_tiny_model

    bases = {}
    model = make_tiny_model(seed=1)
    for fmt, name in (("native", "tiny.safetensors"), ("pt", "tiny.pt")):
        if fmt in formats:
            bases[fmt] = root / name
            model.save(bases[fmt])
    for fmt in formats:
        if fmt in bases:
            continue
        folder = root / fmt
        folder.mkdir()
        if fmt in ("marian", "bart", "t5"):
            from tests.engine.hf_fixtures import BUILDERS

            BUILDERS[fmt](folder)
        elif fmt == "bert":
            from tests.engine.hf_fixtures_encoders import BUILDERS

            BUILDERS[fmt](folder, None)
        else:
            from tests.engine.hf_fixtures_gpt2 import build_gpt2

            build_gpt2(folder)
        bases[fmt] = folder
    return bases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--formats", nargs="+", default=list(FORMATS), choices=FORMATS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fuzz-bases-") as root:
        bases = build_bases(Path(root), args.formats)
        fuzzer = Fuzzer()
        try:
            for fmt in args.formats:
                summary = fuzzer.run(fmt, bases[fmt], args.seed, range(-1, args.cases))
                print(f"{fmt}: {summary.report()}", flush=True)
                for failure in summary.failures:
                    print(f"  {failure.outcome}: {failure.case}\n    {failure.detail[-600:]}", flush=True)
        finally:
            fuzzer.close()


if __name__ == "__main__":
    main()
