"""Run b of ``python main.py export --view compare``: ``--source2`` and/or ``--checkpoint2``."""

from __future__ import annotations

from pathlib import Path


def attach_second_run(state, model, args) -> None:
    """Run b as the window's compare controller would, into ``state``; ValueError names a problem
    (no second input or checkpoint, a missing or unreadable one, another architecture)."""
    import engine
    from engine.compare import second_run

    from ..state.comparison import SecondRun

    if not args.source2 and args.checkpoint2 is None:
        raise ValueError("--view compare needs --source2 TEXT and/or --checkpoint2 PATH")
    model_b = model
    if args.checkpoint2 is not None:
        path = Path(args.checkpoint2)
        if not path.exists():
            raise ValueError(f"checkpoint {path} not found (--checkpoint2)")
        try:
            model_b = engine.load(path)
        except engine.CheckpointError as error:
            raise ValueError(f"cannot open checkpoint {path}: {error}") from None
    source_b = args.source2 or args.source
    trace_b = second_run(model, state.trace, args.source, source_b=source_b, model_b=model_b,
                         target=args.target, ablate=args.ablate)
    state.set_option(compare_source=args.source2 or "",
                     compare_checkpoint=str(args.checkpoint2) if args.checkpoint2 else "")
    state.set_second_run(SecondRun(trace_b, source_b, model_b.name,
                                   str(args.checkpoint2) if args.checkpoint2 else "", trace_a=state.trace))
