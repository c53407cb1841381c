"""Nets layer: everything torch.

Owns the model builder and its cost counting, the weight-sharing supernet and its
training helpers, the training protocol, the datasets and the device probes (latency,
peak memory). Imports only :mod:`nasbench.core`.
"""
