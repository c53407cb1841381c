"""Every registered strategy, built-in or plugin, passes the conformance suite."""

from __future__ import annotations

from nasbench.search import is_one_shot, list_strategies
from nasbench.testing import StrategyConformance

# One-shot strategies (supernets, not ask/tell) have their own tests: tests/test_oneshot.py.
for _name in [name for name in list_strategies() if not is_one_shot(name)]:
    _cls_name = "TestConformance_" + _name.replace("-", "_")
    globals()[_cls_name] = type(_cls_name, (StrategyConformance,), {"strategy_name": _name})
