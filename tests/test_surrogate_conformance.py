"""Every registered surrogate, built-in or plugin, passes the conformance suite."""

from __future__ import annotations

from nasbench.surrogate import list_surrogates
from nasbench.testing import SurrogateConformance

for _name in list_surrogates():
    _cls_name = "TestSurrogateConformance_" + _name.replace("-", "_")
    globals()[_cls_name] = type(_cls_name, (SurrogateConformance,), {"surrogate_name": _name})

# The noise model is part of the contract too: a noisy ensemble must be reproducible.
TestSurrogateConformance_ensemble_noise = type(
    "TestSurrogateConformance_ensemble_noise",
    (SurrogateConformance,),
    {"surrogate_name": "ensemble", "hyperparameters": {"noise": True}},
)
