"""Counted nouns for the book's glued text: "1 cluster", "2 clusters", never "cluster(s)"."""

from __future__ import annotations


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` and the noun in the number it takes: ``counted(1, "cluster")`` -> "1 cluster",
    ``counted(0, "Xe compound")`` -> "0 Xe compounds", ``counted(2, "other", "others")``."""
    n = int(n)
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"
