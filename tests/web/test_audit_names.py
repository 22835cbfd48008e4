"""Every audit code the code base records has a name in both languages (`web/admin/auditnames.py`):
the source is read for every call that records an event, so a new code without a name fails here
before a page shows it raw."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import hopthu
from hopthu.directory.accounts import _AUDIT_ACTION
from hopthu.directory.requests import DECISIONS
from hopthu.directory.senderrules import KINDS as SENDER_KINDS
from hopthu.web.admin.auditnames import ACTIONS, FAMILIES, action_choices, details_text, target_name

SOURCE = Path(hopthu.__file__).parent
RECORDERS = {"record", "record_many"}  # `directory.audit`'s two ways in
# The codes made by a format string, each with the values its placeholder takes.
FORMATTED = {
    "request.": DECISIONS,
    "sender_rule.": SENDER_KINDS,
}


@dataclass
class Found:
    codes: dict[str, str] = field(default_factory=dict)  # code → where it is recorded
    prefixes: dict[str, str] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)


def _wrappers(trees: dict[Path, ast.Module]) -> dict[str, int]:
    """Functions that record an event whose code is one of their parameters: name → its position
    among the arguments a caller passes (after `self`)."""
    found: dict[str, int] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            params = [a.arg for a in node.args.args]
            offset = 1 if params[:1] == ["self"] else 0
            for call in ast.walk(node):
                code = _recorded_code(call) if isinstance(call, ast.Call) else None
                if isinstance(code, ast.Name) and code.id in params:
                    found[node.name] = params.index(code.id) - offset
    return found


def _recorded_code(call: ast.Call) -> ast.expr | None:
    """The `action=` of a call to `audit.record` / `audit.record_many`."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr in RECORDERS and isinstance(func.value, ast.Name)):
        return None
    if func.value.id != "audit":
        return None
    return next((k.value for k in call.keywords if k.arg == "action"), None)


def _name_of(func: ast.expr) -> str | None:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


def _module_dict_values(tree: ast.Module, name: str) -> list[ast.expr]:
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        if isinstance(target, ast.Name) and target.id == name and isinstance(node.value, ast.Dict):
            return list(node.value.values)
    return []


def _collect(expr: ast.expr, tree: ast.Module, where: str, found: Found, params: frozenset[str]) -> None:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        found.codes[expr.value] = where
    elif isinstance(expr, ast.JoinedStr) and isinstance(expr.values[0], ast.Constant):
        found.prefixes[str(expr.values[0].value)] = where
    elif isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Name):
        values = _module_dict_values(tree, expr.value.id)
        if not values:
            found.unreadable.append(where)
        for value in values:
            _collect(value, tree, where, found, params)
    elif not (isinstance(expr, ast.Name) and expr.id in params):  # a wrapper's own parameter
        found.unreadable.append(where)


def _calls(node: ast.AST, params: frozenset[str] = frozenset()) -> list[tuple[ast.Call, frozenset[str]]]:
    """Every call under `node`, each with the parameters of the function it is in."""
    found = []
    for child in ast.iter_child_nodes(node):
        inner = params
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            inner = frozenset(a.arg for a in child.args.args)
        if isinstance(child, ast.Call):
            found.append((child, inner))
        found.extend(_calls(child, inner))
    return found


def recorded_codes() -> Found:
    """Every audit code written anywhere in the package, read from the source."""
    trees = {path: ast.parse(path.read_text(), str(path)) for path in SOURCE.rglob("*.py")}
    wrappers = _wrappers(trees)
    found = Found()
    for path, tree in trees.items():
        for call, params in _calls(tree):
            where = f"{path.relative_to(SOURCE)}:{call.lineno}"
            code = _recorded_code(call)
            name = _name_of(call.func)
            if code is None and name in wrappers and name not in RECORDERS:
                position = wrappers[name]
                code = call.args[position] if len(call.args) > position else None
            if code is not None:
                _collect(code, tree, where, found, params)
    return found


def test_every_recorded_code_has_a_name() -> None:
    found = recorded_codes()
    assert found.unreadable == [], "an audit code these tests cannot read from the source"
    assert len(found.codes) > 30  # the scan sees the code base, not nothing
    assert {"agency.created", "signin.paused", "request.batch_filed", "maillog.viewed"} <= found.codes.keys()
    assert set(_AUDIT_ACTION.values()) <= found.codes.keys()
    unnamed = {code: where for code, where in found.codes.items() if code not in ACTIONS}
    assert unnamed == {}, "give these codes a name in web/admin/auditnames.py"
    assert set(found.prefixes) <= set(FORMATTED), "a code made by a format string: list its values here"
    for prefix in found.prefixes:
        assert {prefix + value for value in FORMATTED[prefix]} <= ACTIONS.keys()


def test_every_name_belongs_to_a_family_of_the_filter() -> None:
    assert {code.partition(".")[0] for code in ACTIONS} <= FAMILIES.keys()
    offered = {code for _, _, acts in action_choices() for code, _ in acts}
    assert offered == ACTIONS.keys()
    assert all(vi and en and vi != code for code, (vi, en) in ACTIONS.items())


def test_targets_and_details_read_as_words() -> None:
    assert target_name("batch:ab12cd") == ("Lô ab12cd", "Batch ab12cd")
    assert target_name("request:12") == ("Yêu cầu số 12", "Request 12")
    assert target_name("lvbinh") == ("lvbinh", "lvbinh")
    vi, en = details_text({"kind": "create", "agency": "sonv", "channel": "portal", "note": None})
    assert vi == "loại: Cấp mới · cơ quan: sonv · kênh: cổng quản trị"
    assert en == "kind: Create · agency: sonv · channel: portal"
