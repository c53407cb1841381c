"""Search layer: strategies and the runner that compares them.

Owns the strategy base classes (black-box, multi-fidelity, multi-objective,
constrained and one-shot, one ``run`` contract for all), the strategy registry, the
runner (strategies x seeds x tables, in-process, local processes or Dask) and the demo.
Imports every layer below it; never reporting or the command line.
"""
