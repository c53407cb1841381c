"""Prediction layer: surrogates that predict architectures never trained.

Owns the surrogate base class and registry, the artifact format, predictor evaluation
and the surrogate benchmark (a :class:`~nasbench.bench.benchmark.Benchmark` answered by
a fitted model). Imports :mod:`nasbench.core`, :mod:`nasbench.nets`,
:mod:`nasbench.generation` and :mod:`nasbench.bench`; never the search layer.
"""
