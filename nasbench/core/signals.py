"""Control-flow signals of a search: not errors.

A strategy or a benchmark raises one of these to end a search loop normally. They are
deliberately not :class:`~nasbench.core.errors.NasbenchError` subclasses, so code that
reports bad input (``except NasbenchError``) never swallows the end of a search, and a
loop that stops on a signal never hides bad input.
"""

from __future__ import annotations

__all__ = ["BudgetExhausted", "SearchFinished", "SearchSignal"]


class SearchSignal(Exception):
    """Base class of the signals that end a search loop normally."""


class BudgetExhausted(SearchSignal):
    """The budget is spent: no further evaluation finishes."""


class SearchFinished(SearchSignal):
    """Raised by a strategy's ``ask`` when it has nothing left to propose."""
