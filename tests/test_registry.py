"""The generic name → class registry (:mod:`nasbench.core.registry`) behind strategies and surrogates."""

from __future__ import annotations

import re
from importlib import metadata
from typing import Any, ClassVar

import pytest

import nasbench.prediction.surrogate as surrogate_module
import nasbench.search.strategy as strategy_module
from nasbench.core.errors import ConfigError
from nasbench.core.registry import Registry
from nasbench.prediction.surrogate import SURROGATE_KINDS, list_surrogates, surrogate_registry
from nasbench.search.strategy import STRATEGY_KINDS, Strategy, get_strategy_class, strategy_registry

GROUP = "nasbench.test-widgets"
KINDS = ("plain", "fancy")


# --------------------------------------------------------------------- test classes
class Widget:
    """Base class of the test family."""

    kind: ClassVar[str] = "plain"
    name: ClassVar[str] = ""

    def __init__(self, *, size: int = 1, colour: str = "red", seed: int = 0) -> None:
        self.size = size
        self.colour = colour
        self.seed = seed

    @classmethod
    def hyperparameters(cls) -> dict[str, Any]:
        return {"size": 1, "colour": "red"}


class Plain(Widget):
    """A plain widget.

    Second paragraph, not part of the summary.
    """


class Fancy(Widget):
    """A fancy
    widget."""

    kind = "fancy"


class Odd(Widget):
    kind = "odd"


class Gadget:
    """Second, unrelated base (as a one-shot strategy base would be)."""

    kind: ClassVar[str] = "one-shot"
    name: ClassVar[str] = ""

    @classmethod
    def hyperparameters(cls) -> dict[str, Any]:
        return {}


class Lamp(Gadget):
    """A gadget."""


class PluginWidget(Widget):
    """Loaded through a fake entry point."""


# --------------------------------------------------------------------- fixtures
@pytest.fixture(autouse=True)
def _reset_names(monkeypatch: pytest.MonkeyPatch) -> None:
    for cls in (Widget, Plain, Fancy, Odd, Gadget, Lamp, PluginWidget):
        monkeypatch.setattr(cls, "name", "")


@pytest.fixture
def entries() -> dict[str, metadata.EntryPoint]:
    """Fake entry points of the test group; tests add to them."""
    return {}


@pytest.fixture
def registry(entries: dict[str, metadata.EntryPoint], monkeypatch: pytest.MonkeyPatch) -> Registry[Any]:
    made: Registry[Any] = Registry("widget", GROUP, (Widget,), KINDS, extra_hyperparameters=("seed",))
    monkeypatch.setattr(made, "entry_points", lambda: dict(entries))
    return made


def _entry(name: str, value: str) -> metadata.EntryPoint:
    return metadata.EntryPoint(name, value, GROUP)


# --------------------------------------------------------------------- registration
def test_register_get_create_and_describe(registry: Registry[Any]) -> None:
    assert registry.register("plain")(Plain) is Plain and Plain.name == "plain"
    registry.register("fancy")(Fancy)
    assert registry.registered == {"plain": Plain, "fancy": Fancy}
    assert registry.get("plain") is Plain
    assert registry.names() == ["fancy", "plain"]
    made = registry.create("fancy", size=3, seed=4)
    assert isinstance(made, Fancy) and (made.size, made.colour, made.seed) == (3, "red", 4)
    assert registry.source("plain") == f"registered in {__name__}"
    assert registry.summary("plain") == "A plain widget."
    assert registry.summary("fancy") == "A fancy widget."
    assert registry.bases == (Widget,) and registry.kinds == KINDS


@pytest.mark.parametrize("name", ["", None, 3])
def test_register_needs_a_name(registry: Registry[Any], name: Any) -> None:
    with pytest.raises(ConfigError, match="register_widget needs a non-empty name"):
        registry.register(name)


@pytest.mark.parametrize("thing", [Gadget, dict, Plain(), "Plain", None])
def test_register_rejects_other_classes(registry: Registry[Any], thing: Any) -> None:
    with pytest.raises(ConfigError, match="widget 'bad' is not a Widget subclass"):
        registry.register("bad")(thing)
    assert "bad" not in registry.registered and "bad" not in registry.names()


def test_register_rejects_unknown_kind(registry: Registry[Any]) -> None:
    with pytest.raises(ConfigError, match="widget 'odd' has kind 'odd'; known kinds: plain, fancy"):
        registry.register("odd")(Odd)
    assert "odd" not in registry.registered and Odd.name == ""


def test_registering_a_name_again_replaces_the_class(registry: Registry[Any]) -> None:
    """As the strategy and surrogate registries always did: the last registration wins."""
    registry.register("thing")(Plain)
    registry.register("thing")(Fancy)
    assert registry.get("thing") is Fancy and registry.names() == ["thing"]


def test_registries_keep_separate_state(registry: Registry[Any]) -> None:
    other: Registry[Any] = Registry("widget", GROUP, (Widget,), KINDS)
    assert other.entry_points() == {}, "the real lookup: no installed distribution has this group"
    registry.register("plain")(Plain)
    assert other.names() == [] and other.registered == {}


# --------------------------------------------------------------------- lookup
def test_names_pattern_and_kind(registry: Registry[Any]) -> None:
    registry.register("plain-a")(Plain)
    registry.register("plain-b")(Plain)
    registry.register("fancy-a")(Fancy)
    assert registry.names("plain-*") == ["plain-a", "plain-b"]
    assert registry.names("?????-a") == ["fancy-a", "plain-a"]
    assert registry.names("PLAIN*") == [], "patterns are case-sensitive"
    assert registry.names(kind="fancy") == ["fancy-a"]
    assert registry.names("*-a", kind="plain") == ["plain-a"]
    assert registry.names("fancy*", kind="plain") == []
    with pytest.raises(ConfigError, match=r"unknown widget kind 'fancyy' \(known: plain, fancy\)"):
        registry.names(kind="fancyy")


def test_unknown_name_suggests_the_closest(registry: Registry[Any]) -> None:
    with pytest.raises(ConfigError, match=r"unknown widget 'plian' \(known: none\)"):
        registry.get("plian")
    registry.register("plain")(Plain)
    registry.register("fancy")(Fancy)
    with pytest.raises(
        ConfigError, match=r"unknown widget 'plian'; did you mean 'plain'\? \(known: fancy, plain\)"
    ):
        registry.get("plian")
    with pytest.raises(ConfigError) as info:
        registry.create("qqqqqqqq-zz")
    assert "did you mean" not in str(info.value) and "known: fancy, plain" in str(info.value)


def test_unknown_hyperparameter_suggests_the_closest(registry: Registry[Any]) -> None:
    registry.register("plain")(Plain)
    with pytest.raises(
        ConfigError,
        match=re.escape(
            "widget 'plain' has no hyperparameter 'colour_'; did you mean 'colour'? (known: size, colour)"
        ),
    ):
        registry.create("plain", colour_="blue")
    with pytest.raises(ConfigError, match="no hyperparameter 'zzzz' \\(known"):
        registry.create("plain", zzzz=1)
    assert registry.create("plain", seed=9).seed == 9, "extra hyperparameters are accepted"
    strict: Registry[Any] = Registry("widget", GROUP, (Widget,), KINDS, classes=lambda: {"plain": Plain})
    with pytest.raises(ConfigError, match="no hyperparameter 'seed'"):
        strict.create("plain", seed=9)


# --------------------------------------------------------------------- entry points
def test_entry_point_is_imported_on_first_use(
    registry: Registry[Any], entries: dict[str, metadata.EntryPoint]
) -> None:
    entries["plugged"] = _entry("plugged", f"{__name__}:PluginWidget")
    assert registry.names() == ["plugged"] and "plugged" not in registry.registered
    assert registry.get("plugged") is PluginWidget and PluginWidget.name == "plugged"
    assert registry.registered["plugged"] is PluginWidget
    assert registry.source("plugged") == "entry point of unknown"
    assert registry.names(kind="plain") == ["plugged"]


def test_failing_entry_point_is_recorded(
    registry: Registry[Any], entries: dict[str, metadata.EntryPoint]
) -> None:
    registry.register("plain")(Plain)
    entries["broken"] = _entry("broken", "no_such_module_xyz:Thing")
    entries["no-attr"] = _entry("no-attr", f"{__name__}:Nope")
    assert registry.plugin_errors() == {}
    assert registry.names() == ["broken", "no-attr", "plain"], "not imported yet: listed"
    with pytest.raises(ConfigError, match="widget plugin 'broken'") as info:
        registry.get("broken")
    message = str(info.value)
    assert "no_such_module_xyz:Thing" in message and "ModuleNotFoundError" in message
    with pytest.raises(ConfigError, match="AttributeError"):
        registry.create("no-attr")
    errors = registry.plugin_errors()
    assert errors == {"broken": message, "no-attr": errors["no-attr"]}
    errors.clear()
    assert set(registry.plugin_errors()) == {"broken", "no-attr"}, "plugin_errors() hands out a copy"
    assert registry.names() == ["plain"], "failed plugins are left out"
    assert registry.names(kind="plain") == ["plain"]
    with pytest.raises(ConfigError, match="broken"):
        registry.source("broken")


def test_entry_point_of_the_wrong_class(
    registry: Registry[Any], entries: dict[str, metadata.EntryPoint]
) -> None:
    entries["odd-dict"] = _entry("odd-dict", "collections:OrderedDict")
    with pytest.raises(ConfigError, match="widget 'odd-dict' is not a Widget subclass"):
        registry.get("odd-dict")
    assert "odd-dict" not in registry.registered and registry.plugin_errors() == {}
    assert registry.names(kind="plain") == []


# --------------------------------------------------------------------- a second base
def test_allow_adds_a_base_with_its_own_kinds(registry: Registry[Any]) -> None:
    with pytest.raises(ConfigError, match="not a Widget subclass"):
        registry.register("lamp")(Lamp)
    registry.allow(Gadget, "one-shot")
    assert registry.bases == (Widget, Gadget) and registry.kinds == (*KINDS, "one-shot")
    registry.register("lamp")(Lamp)
    registry.register("plain")(Plain)
    assert registry.names(kind="one-shot") == ["lamp"] and registry.names(kind="plain") == ["plain"]

    class PlainGadget(Gadget):
        kind = "plain"

    class OneShotWidget(Widget):
        kind = "one-shot"

    with pytest.raises(ConfigError, match=r"has kind 'plain'; known kinds: one-shot$"):
        registry.register("x")(PlainGadget)
    with pytest.raises(ConfigError, match=r"has kind 'one-shot'; known kinds: plain, fancy$"):
        registry.register("y")(OneShotWidget)
    with pytest.raises(ConfigError, match="is not a Widget or Gadget subclass"):
        registry.register("z")(dict)
    registry.allow(Widget, "one-shot", "plain")
    assert registry.kinds == (*KINDS, "one-shot")
    registry.register("y")(OneShotWidget)


def test_allow_checks_its_arguments(registry: Registry[Any]) -> None:
    with pytest.raises(TypeError):
        registry.allow("Gadget", "one-shot")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        registry.allow(Gadget)
    with pytest.raises(ValueError):
        Registry("widget", GROUP, (), KINDS)


# --------------------------------------------------------------------- the two families
def test_families_are_wrappers_over_registries() -> None:
    assert strategy_registry.bases[0] is Strategy and set(STRATEGY_KINDS) <= set(strategy_registry.kinds)
    assert strategy_registry.get("rs") is get_strategy_class("rs")
    assert strategy_registry.registered is strategy_module._REGISTERED
    assert surrogate_registry.kinds == SURROGATE_KINDS and "zero-cost" in SURROGATE_KINDS
    assert surrogate_registry.registered is surrogate_module._REGISTERED


def test_failed_surrogate_plugins_are_left_out_like_strategies(monkeypatch: pytest.MonkeyPatch) -> None:
    entries = {"broken-xyz": metadata.EntryPoint("broken-xyz", "no_such_module_xyz:Thing", GROUP)}
    monkeypatch.setattr(surrogate_module, "_REGISTERED", {})
    monkeypatch.setattr(surrogate_module, "_PLUGIN_ERRORS", {})
    monkeypatch.setattr(surrogate_module, "_entry_points", lambda: dict(entries))
    assert list_surrogates() == ["broken-xyz"]
    with pytest.raises(ConfigError, match="surrogate plugin 'broken-xyz'"):
        surrogate_module.get_surrogate_class("broken-xyz")
    assert list_surrogates() == [] and "broken-xyz" in surrogate_module.plugin_errors()
