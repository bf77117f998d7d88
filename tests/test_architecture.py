"""The package's shape: no import cycle, no private name across subpackages, small units.

Walks the source of ``pytest_anchor_mfa`` (every ``import``, at any depth of a module, lazy
imports included) rather than importing it, so the check sees every edge.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pytest_anchor_mfa"
MAX_FUNCTION_LINES = 60
MAX_CLASS_LINES = 300


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str) -> Iterator[tuple[str, str, int]]:
    """(imported module, imported name or "", line) for every import in module ``name``."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, "", node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:
                if f"{target}.{alias.name}" in MODULES:  # ``from . import module``
                    yield f"{target}.{alias.name}", "", node.lineno
                else:
                    yield target, alias.name, node.lineno


def _edges() -> dict[str, set[str]]:
    return {
        name: {target for target, _, _ in _imports(name) if target in MODULES and target != name}
        for name in MODULES
    }


def _subpackage(module: str) -> str:
    """The first-level subpackage a module belongs to (top-level modules: themselves)."""
    return ".".join(module.split(".")[:2])


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_the_walk_sees_the_package() -> None:
    # A walk that found nothing would pass every check below.
    edges = _edges()
    assert len(MODULES) > 60
    assert "pytest_anchor_mfa.codes.rule" in edges["pytest_anchor_mfa.codes.extract"]
    assert "pytest_anchor_mfa.contract" in edges["pytest_anchor_mfa.server.app"]
    # Private names are seen (this one stays inside its subpackage, which is allowed).
    client = list(_imports("pytest_anchor_mfa.events.client"))
    assert ("pytest_anchor_mfa.events.core", "_Call", client[0][2]) in [
        (target, imported, client[0][2]) for target, imported, _ in client
    ]


def test_no_import_cycle() -> None:
    cycle = _cycle(_edges())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_private_name_crosses_subpackages() -> None:
    crossings = [
        f"{name}:{line} imports {imported} from {target}"
        for name in MODULES
        for target, imported, line in _imports(name)
        if target in MODULES
        and imported.startswith("_")
        and not imported.startswith("__")
        and _subpackage(target) != _subpackage(name)
    ]
    assert not crossings, "\n".join(crossings)


def test_the_server_does_not_import_the_client() -> None:
    # Both speak the contract (``contract``); neither depends on the other.
    offenders = [
        f"{name} imports {target}"
        for name in MODULES
        for target, _, _ in _imports(name)
        if (_subpackage(name), _subpackage(target))
        in {
            ("pytest_anchor_mfa.server", "pytest_anchor_mfa.events"),
            ("pytest_anchor_mfa.events", "pytest_anchor_mfa.server"),
        }
    ]
    assert not offenders, "\n".join(offenders)


def _units() -> Iterator[tuple[str, ast.AST]]:
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                yield name, node


@pytest.mark.parametrize(
    ("kind", "limit"),
    [
        ((ast.FunctionDef, ast.AsyncFunctionDef), MAX_FUNCTION_LINES),
        ((ast.ClassDef,), MAX_CLASS_LINES),
    ],
    ids=["functions", "classes"],
)
def test_no_unit_over_its_size(kind: tuple[type[ast.AST], ...], limit: int) -> None:
    too_long = [
        f"{name}.{node.name} ({node.end_lineno - node.lineno + 1} lines)"  # type: ignore[attr-defined]
        for name, node in _units()
        if isinstance(node, kind) and node.end_lineno - node.lineno + 1 > limit  # type: ignore[attr-defined]
    ]
    assert not too_long, f"over {limit} lines: " + ", ".join(too_long)


def test_every_public_name_resolves() -> None:
    import pytest_anchor_mfa

    missing = [name for name in pytest_anchor_mfa.__all__ if not hasattr(pytest_anchor_mfa, name)]
    assert not missing
    assert {"CodeRule", "AnchorInbox", "AnchorSms", "WebhookReceiver"} <= set(
        pytest_anchor_mfa.__all__
    )


@pytest.mark.parametrize(
    ("old", "new"), [("AnchorMFAError", "AnchorMfaError"), ("EventsAPIError", "EventsApiError")]
)
def test_a_renamed_error_still_imports_with_a_warning(old: str, new: str) -> None:
    from pytest_anchor_mfa import errors

    with pytest.warns(DeprecationWarning, match=f"{old} is renamed {new}"):
        assert getattr(errors, old) is getattr(errors, new)
    assert old not in errors.__all__


def test_the_architecture_page_lists_every_subpackage() -> None:
    section = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    subpackages = {
        str(path.parent.relative_to(PACKAGE)) for path in PACKAGE.rglob("__init__.py")
    } - {"."}
    missing = sorted(name for name in subpackages if f"`{name}/`" not in section)
    assert not missing, f"docs/architecture.md does not list: {missing}"
    modules = sorted(path.stem for path in PACKAGE.glob("*.py") if not path.stem.startswith("_"))
    missing = [name for name in modules if f"`{name}`" not in section]
    assert not missing, f"docs/architecture.md does not name the top-level modules: {missing}"
