"""Every registered strategy, built-in or plugin, passes the conformance suite."""

from __future__ import annotations

from nasbench.strategy import list_strategies
from nasbench.testing import StrategyConformance

for _name in list_strategies():
    _cls_name = "TestConformance_" + _name.replace("-", "_")
    globals()[_cls_name] = type(_cls_name, (StrategyConformance,), {"strategy_name": _name})
