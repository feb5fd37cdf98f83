"""A bigger fuzz run than CI's, outside pytest:

    python -m tests.engine.fuzz.campaign --cases 300 --seed 7 [--formats bart t5 roberta_files]

builds the base files (transformers is needed for the Hugging Face folders), runs ``--cases``
cases of every format and prints each format's outcomes and every failing case. Besides CI's
formats it knows every tiny folder the parity tests build (``--formats all``).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from tests.engine.fuzz.runner import Fuzzer

CI_FORMATS = ("native", "pt", "marian", "bart", "t5", "bert", "gpt2")
MORE_FORMATS = ("t5_v1_1", "mt5", "bert_legacy", "bert_st", "bert_st_subfolder", "roberta",
                "roberta_files", "distilbert", "gpt2_vocab_files", "modernbert")


class Folders:
    """Enough of pytest's tmp_path_factory for the fixture builders."""

    def __init__(self, root: Path):
        self.root, self.count = root, 0

    def mktemp(self, name: str) -> Path:
        self.count += 1
        folder = self.root / f"{name}{self.count}"
        folder.mkdir()
        return folder


def build_base(fmt: str, factory: Folders) -> Path:
    """The undamaged file or folder of ``fmt``."""
    if fmt in ("native", "pt"):
        from tests.conftest import make_tiny_model

        path = factory.mktemp("native") / ("tiny.safetensors" if fmt == "native" else "tiny.pt")
        make_tiny_model(seed=1).save(path)
        return path
    if fmt.startswith("gpt2"):
        from tests.engine.hf_fixtures_gpt2 import gpt2_folder

        return gpt2_folder(fmt, factory)
    if fmt == "modernbert":
        from tests.engine.hf_fixtures_modernbert import modernbert_folder

        return modernbert_folder(factory)
    from tests.engine.hf_fixtures import BUILDERS, hf_folder

    if fmt in BUILDERS:
        return hf_folder(fmt, factory)
    from tests.engine.hf_fixtures_encoders import encoder_folder

    return encoder_folder(fmt, factory)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--formats", nargs="+", default=list(CI_FORMATS),
                        choices=(*CI_FORMATS, *MORE_FORMATS, "all"))
    args = parser.parse_args()
    formats = [*CI_FORMATS, *MORE_FORMATS] if "all" in args.formats else args.formats
    with tempfile.TemporaryDirectory(prefix="fuzz-bases-") as root:
        factory = Folders(Path(root))
        fuzzer = Fuzzer()
        try:
            for fmt in formats:
                summary = fuzzer.run(fmt, build_base(fmt, factory), args.seed, range(-1, args.cases))
                print(f"{fmt}: {summary.report()}", flush=True)
                for failure in summary.failures:
                    print(f"  {failure.outcome}: {failure.case}\n    {failure.detail[-600:]}", flush=True)
        finally:
            fuzzer.close()


if __name__ == "__main__":
    main()
