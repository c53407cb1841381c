"""Every registered surrogate, built-in or plugin, passes the conformance suite."""

from __future__ import annotations

from nasbench.prediction import list_surrogates
from nasbench.testing import SurrogateConformance

# Zero-cost proxies learn nothing from the targets; tests/test_zero_cost.py covers them.
for _name in list_surrogates(kind="architecture") + list_surrogates(kind="learning-curve"):
    _cls_name = "TestSurrogateConformance_" + _name.replace("-", "_")
    globals()[_cls_name] = type(_cls_name, (SurrogateConformance,), {"surrogate_name": _name})

# The noise model is part of the contract too: a noisy ensemble must be reproducible.
TestSurrogateConformance_ensemble_noise = type(
    "TestSurrogateConformance_ensemble_noise",
    (SurrogateConformance,),
    {"surrogate_name": "ensemble", "hyperparameters": {"noise": True}},
)
