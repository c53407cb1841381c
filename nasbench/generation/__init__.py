"""Generation layer: producing tables.

Owns the generator (scheduling, journal, resume, merge), the Dask cluster helper and
the fidelity computation of a protocol. Imports :mod:`nasbench.core` and
:mod:`nasbench.nets`; never the benchmark, prediction, search or reporting layers.
"""
