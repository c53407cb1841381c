"""Generation layer: producing tables.

Owns the generator (scheduling, journal, resume, merge), the Dask cluster helper, the
fidelity computation of a protocol, the validity of a table against a reference, and the
importers of public benchmark files (:mod:`nasbench.generation.importers`). Imports
:mod:`nasbench.core` and :mod:`nasbench.nets`; never the benchmark, prediction, search
or reporting layers.
"""
