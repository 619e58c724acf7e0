"""elfutils.book.wording: counted nouns."""

import numpy as np
import pytest

from elfutils.book.wording import counted


@pytest.mark.parametrize("n, expected", [(0, "0 clusters"), (1, "1 cluster"), (2, "2 clusters"),
                                         (np.int64(1), "1 cluster")])
def test_counted_takes_the_plural_except_for_one(n, expected):
    assert counted(n, "cluster") == expected


def test_counted_takes_an_irregular_plural():
    assert counted(3, "Xe compound") == "3 Xe compounds"
    assert counted(1, "entry", "entries") == "1 entry" and counted(5, "entry", "entries") == "5 entries"
