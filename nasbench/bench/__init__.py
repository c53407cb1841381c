"""Bench layer: answering a strategy's questions from a table.

Owns :class:`~nasbench.bench.benchmark.Benchmark` (a simulated training backend with a
clock, budgets and the incumbent's regret), random search's expected result in closed
form, and the results schema the runner writes and the reports read. Imports only
:mod:`nasbench.core`; never the generation layer.
"""
