"""What the benchmark commands share on their command lines."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def number_between(
    kind: type[int] | type[float], low: float, high: float
) -> Callable[[str], int | float]:
    """An argparse type: a number of ``kind`` from ``low`` to ``high``, else a clear error."""

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low:g} and {high:g}")
        return value

    return parse
