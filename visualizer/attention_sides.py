"""Which token list ("source" or "target") an attention kind's queries and keys come from."""

QUERY_SIDES = {"encoder": "source", "decoder": "target", "cross": "target"}
KEY_SIDES = {"encoder": "source", "decoder": "target", "cross": "source"}  # cross: encoder keys


def query_side(kind: str) -> str:
    return QUERY_SIDES.get(kind, "")


def key_side(kind: str) -> str:
    return KEY_SIDES.get(kind, "")
