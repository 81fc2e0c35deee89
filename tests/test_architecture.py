"""The shape of the code: no import circles, and the outbox knows none of the domains it mails for.

The graph is read from the source (every `import`, at the top of a module or inside a function),
so an import hidden in a function to dodge a circle is still a circle here. Imports under
`if TYPE_CHECKING:` are left out: they never run, and only name types for annotations.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted((SRC / "proofdesk").rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_names(module: str, tree: ast.AST) -> list[str]:
    """Every dotted name an import statement of the module names, TYPE_CHECKING blocks aside."""
    names: list[str] = []
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    todo = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            todo.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names += [base] + [f"{base}.{alias.name}" for alias in node.names]
        todo.extend(ast.iter_child_nodes(node))
    return names


def _own_module(name: str) -> str | None:
    """The proofdesk module a dotted name is, or lives in (`proofdesk.db.utcnow` → proofdesk.db)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        found = {_own_module(name) for name in _imported_names(module, ast.parse(path.read_text()))}
        graph[module] = {m for m in found if m is not None and m != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_imports_inside_functions():
    graph = import_graph()
    assert "proofdesk.customer_login.models" in graph["proofdesk.models"]
    # `register_blueprints` imports the views inside the function.
    assert "proofdesk.customer_login.staff_views" in graph["proofdesk.app"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles():
    assert cycles(import_graph()) == []


# Packages that are a part of the product (the outbox sends for them), not shared machinery.
DOMAINS = {"customers", "customer_login", "proofs", "review", "portal", "admin"}


def test_notifications_imports_no_domain():
    """The outbox queues, routes, sends and logs; which emails exist and what they say is
    registered by the domains that own them (proofs, customer_login). Staff users (accounts:
    a designer's SMTP settings, admin pages) are not a domain here, and the customer model is
    whom a notification goes to: the log looks up the customer it is filtered by."""
    graph = import_graph()
    imported = {
        target
        for module, targets in graph.items()
        if module.startswith("proofdesk.notifications")
        for target in targets
    }
    foreign = sorted(
        name
        for name in imported
        if name != "proofdesk.customers.models"
        and name.removeprefix("proofdesk.").partition(".")[0] in DOMAINS
    )
    assert foreign == []
