"""The generic name → class registry (:mod:`nasbench.core.registry`) behind strategies and surrogates."""

from __future__ import annotations

import re
from importlib import metadata
from typing import Any, ClassVar

import pytest

from nasbench.core.errors import ConfigError
from nasbench.core.registry import Registry
from nasbench.prediction import SURROGATE_KINDS, get_surrogate_class, list_surrogates, plugin_errors
from nasbench.prediction.registry import surrogate_registry
from nasbench.search import STRATEGY_KINDS, Strategy, get_strategy_class, strategy_registry

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
    """Second, unrelated base with a kind of its own."""

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
def registry(entries: dict[str, metadata.EntryPoint]) -> Registry[Any]:
    return Registry(
        "widget", GROUP, (Widget,), KINDS, extra_hyperparameters=("seed",), entry_points=lambda: entries
    )


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


# --------------------------------------------------------------------- unregister and scoped
def test_unregister_forgets_a_name(registry: Registry[Any], entries: dict[str, metadata.EntryPoint]) -> None:
    registry.register("plain")(Plain)
    assert registry.unregister("plain") is Plain and registry.unregister("plain") is None
    assert "plain" not in registry.registered and registry.names() == []
    entries["broken"] = _entry("broken", "no_such_module_xyz:Thing")
    with pytest.raises(ConfigError):
        registry.get("broken")
    assert registry.names() == [] and "broken" in registry.plugin_errors()
    assert registry.unregister("broken") is None
    assert registry.plugin_errors() == {} and registry.names() == ["broken"], "its entry point stays"


def test_scoped_restores_classes_errors_and_names(
    registry: Registry[Any], entries: dict[str, metadata.EntryPoint]
) -> None:
    registry.register("plain")(Plain)
    entries["broken"] = _entry("broken", "no_such_module_xyz:Thing")
    with pytest.raises(ConfigError):
        registry.get("broken")
    before = (dict(registry.registered), registry.plugin_errors(), registry.names())
    with registry.scoped() as inside:
        assert inside is registry and registry.registered == {"plain": Plain}
        registry.register("fancy")(Fancy)
        registry.register("plain")(Fancy)  # replaces Plain, and renames Fancy
        registry.unregister("broken")
        assert Fancy.name == "plain" and registry.names() == ["broken", "fancy", "plain"]
    assert (dict(registry.registered), registry.plugin_errors(), registry.names()) == before
    assert Fancy.name == "" and Plain.name == "plain"
    with pytest.raises(RuntimeError), registry.scoped():  # restored on an error too
        registry.register("fancy")(Fancy)
        raise RuntimeError
    assert "fancy" not in registry.registered and Fancy.name == ""


def test_scoped_can_start_empty_with_substitute_entry_points(registry: Registry[Any]) -> None:
    registry.register("plain")(Plain)
    substitute: dict[str, metadata.EntryPoint] = {}
    with registry.scoped(clear=True, entry_points=substitute):
        assert registry.registered == {} and registry.names() == []
        substitute["plugged"] = _entry("plugged", f"{__name__}:PluginWidget")  # read live
        assert registry.names() == ["plugged"] and registry.get("plugged") is PluginWidget
        with registry.scoped(entry_points={}):
            assert registry.names() == ["plugged"], "imported inside the outer block: registered"
            assert registry.entry_points() == {}
        assert list(registry.entry_points()) == ["plugged"]
    assert registry.names() == ["plain"] and registry.entry_points() == {}
    assert PluginWidget.name == ""


def test_a_failing_plugin_is_logged(
    registry: Registry[Any], entries: dict[str, metadata.EntryPoint], caplog: pytest.LogCaptureFixture
) -> None:
    entries["broken"] = _entry("broken", "no_such_module_xyz:Thing")
    with caplog.at_level("INFO", logger="nasbench.core.registry"), pytest.raises(ConfigError):
        registry.get("broken")
    [record] = caplog.records
    assert "widget plugin 'broken'" in record.getMessage() and "ModuleNotFoundError" in record.getMessage()


# --------------------------------------------------------------------- the two families
def test_families_are_wrappers_over_registries() -> None:
    assert strategy_registry.bases == (Strategy,) and strategy_registry.kinds == STRATEGY_KINDS
    assert "one-shot" in STRATEGY_KINDS, "one-shot strategies are Strategy subclasses"
    assert strategy_registry.get("rs") is get_strategy_class("rs")
    assert surrogate_registry.kinds == SURROGATE_KINDS and "zero-cost" in SURROGATE_KINDS
    assert surrogate_registry.get("xgb") is get_surrogate_class("xgb")


@pytest.mark.parametrize("family", ["strategy", "surrogate"])
def test_failed_plugins_are_left_out_in_both_families(family: str) -> None:
    made = strategy_registry if family == "strategy" else surrogate_registry
    entries = {"broken-xyz": metadata.EntryPoint("broken-xyz", "no_such_module_xyz:Thing", made.group)}
    with made.scoped(clear=True, entry_points=entries):
        assert made.names() == ["broken-xyz"]
        with pytest.raises(ConfigError, match=f"{family} plugin 'broken-xyz'"):
            made.get("broken-xyz")
        assert made.names() == [] and "broken-xyz" in made.plugin_errors()
        if family == "surrogate":
            assert list_surrogates() == [] and "broken-xyz" in plugin_errors()
    assert "broken-xyz" not in made.plugin_errors() and "broken-xyz" not in made.names()
