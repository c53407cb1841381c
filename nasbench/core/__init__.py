"""Core layer: what every other layer stands on.

Owns the errors and control-flow signals, the search spaces (architectures, indices,
canonical classes, neighbours, encodings), the HDF5 table (schema, writer, reader,
validation), the declarative validators and the params mixin plug-ins share, the
plug-in registry, the one definition of a run's cost, a table's best classes, and Pareto
fronts.

Imports no other nasbench layer and never torch; numpy, scipy and h5py only.
"""
