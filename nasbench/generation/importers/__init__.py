"""Importers: public benchmark files read into this package's table format.

Each reader (:mod:`~nasbench.generation.importers.tabular` for CSV/Parquet,
:mod:`~nasbench.generation.importers.nb201`, :mod:`~nasbench.generation.importers.nats`,
:mod:`~nasbench.generation.importers.naslib`, :mod:`~nasbench.generation.importers.hwnas`)
fills an :class:`~nasbench.generation.importers.records.ImportedBenchmark`, values per
architecture index in this space's order; :mod:`~nasbench.generation.importers.write`
turns it into a table, all or nothing. Pickled sources go through the restricted,
streaming unpickler of :mod:`~nasbench.generation.importers.safe_pickle`.
"""
