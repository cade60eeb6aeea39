"""The AWS API calls a Lambda handler makes, read from its source (AST), and what an IAM role allows.

Calls are found in the handler module and every `lambdas.*` module it imports, transitively: `<client>.<op>(...)`
and `<client>.get_paginator("<op>")`, where `<op>` is an operation of a service the code creates with
`boto3.client("<service>")` (operation names from botocore's own service models, so nothing is listed by hand).
A call whose receiver is not named after its service still counts; one that several services could answer fails
loudly, so a new call can never slip past the permission test unnoticed.
"""

from __future__ import annotations

import ast
import fnmatch
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
from botocore import xform_name

# boto3 service name -> IAM action prefix (they differ for some services, e.g. CloudWatch signs as "monitoring").
IAM_PREFIX = {
    "autoscaling": "autoscaling",
    "ec2": "ec2",
    "cloudwatch": "cloudwatch",
    "sns": "sns",
    "dynamodb": "dynamodb",
}


class UnattributableCallError(AssertionError):
    """A call could be an AWS API call of more than one service, or a client of an unmapped service is created."""


@dataclass(frozen=True, order=True)
class ApiCall:
    service: str
    operation: str  # API name, e.g. "DeleteTags"
    where: str  # file:line of the first occurrence

    @property
    def iam_action(self) -> str:
        # For these services the IAM action is the API operation's name (Service Authorization Reference).
        return f"{IAM_PREFIX[self.service]}:{self.operation}"


@cache
def operations(service: str) -> dict[str, str]:
    """snake_case method name -> API operation name, from botocore's service model."""
    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(name): name for name in model.operation_names}


def _module_file(root: Path, module: str) -> Path | None:
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def module_closure(root: Path, module: str, package: str = "lambdas") -> list[Path]:
    """The files that importing `module` runs from `package` (its package __init__ files included)."""
    seen: dict[Path, None] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):  # `import a.b.c` runs a/__init__, a/b/__init__, a/b/c
            path = _module_file(root, ".".join(parts[:depth]))
            if path is None or path in seen:
                continue
            seen[path] = None
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    todo.append(node.module)
                    todo.extend(f"{node.module}.{alias.name}" for alias in node.names)  # `from pkg import module`
                elif isinstance(node, ast.Import):
                    todo.extend(alias.name for alias in node.names)
    return [path for path in seen if path.is_relative_to(root / package)]


def _calls(files: Iterable[Path]) -> Iterator[tuple[Path, ast.Call]]:
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                yield path, node


def _literal(node: ast.Call) -> str | None:
    first = node.args[0] if node.args else None
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def created_clients(files: Iterable[Path]) -> set[str]:
    """Services passed to `boto3.client(...)`; a non-literal or unmapped service name fails."""
    services: set[str] = set()
    for path, node in _calls(files):
        func = node.func
        assert isinstance(func, ast.Attribute)
        if func.attr in ("client", "resource") and isinstance(func.value, ast.Name) and func.value.id == "boto3":
            service = _literal(node)
            if service is None or service not in IAM_PREFIX or func.attr == "resource":
                raise UnattributableCallError(f"{path}:{node.lineno}: boto3.{func.attr}({service!r}) is not mapped")
            services.add(service)
    return services


def boto3_calls(root: Path, module: str) -> list[ApiCall]:
    """Every AWS API call reachable from `module`, one per (service, operation), sorted."""
    files = module_closure(root, module)
    services = created_clients(files)
    found: dict[tuple[str, str], ApiCall] = {}
    for path, node in _calls(files):
        func = node.func
        assert isinstance(func, ast.Attribute)
        method = func.attr
        if method in ("get_paginator", "get_waiter"):
            if method == "get_waiter":
                raise UnattributableCallError(f"{path}:{node.lineno}: waiters call Describe* APIs; map them here")
            method = _literal(node) or ""
        receiver = func.value
        name = receiver.id if isinstance(receiver, ast.Name) else getattr(receiver, "attr", None)
        candidates = [service for service in sorted(services) if method in operations(service)]
        if not candidates:
            continue
        if name in candidates:
            service = str(name)
        elif len(candidates) == 1:
            service = candidates[0]
        else:
            raise UnattributableCallError(
                f"{path}:{node.lineno}: '{method}' on '{name}' could be any of {candidates}; name the client after"
                " its service"
            )
        operation = operations(service)[method]
        found.setdefault((service, operation), ApiCall(service, operation, f"{path.relative_to(root)}:{node.lineno}"))
    return sorted(found.values())


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(template: dict[str, Any], handler: str) -> list[dict[str, Any]]:
    """All statements granted to the role of the function with this handler (inline policies and AWS::IAM::Policy)."""
    resources = template["Resources"]
    functions = [
        r for r in resources.values() if r["Type"] == "AWS::Lambda::Function" and r["Properties"]["Handler"] == handler
    ]
    assert len(functions) == 1, handler
    role_id = functions[0]["Properties"]["Role"]["Fn::GetAtt"][0]
    role = resources[role_id]["Properties"]
    assert not role.get("ManagedPolicyArns"), f"{handler}: managed policies grant more than the handler's calls"
    statements = [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
    for resource in resources.values():
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in resource["Properties"].get("Roles", []):
            statements.extend(resource["Properties"]["PolicyDocument"]["Statement"])
    return statements


def granting(statements: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    """The Allow statements whose Action matches `action` (IAM wildcards honoured, case-insensitive)."""
    return [
        s
        for s in statements
        if s.get("Effect") == "Allow"
        and "NotAction" not in s
        and any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in _as_list(s["Action"]))
    ]


def granted_actions(statements: list[dict[str, Any]]) -> set[str]:
    return {a for s in statements if s.get("Effect") == "Allow" for a in _as_list(s.get("Action", []))}
