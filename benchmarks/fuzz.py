"""`tts-bench fuzz`: schemathesis against the service's own OpenAPI schema, over real HTTP with an API key.

Every operation in /openapi.json gets generated requests — schema-valid ones (positive) and schema-invalid ones
(negative) — until at least `--requests` were sent. Each response is checked by schemathesis. Two counts must be 0:
5xx responses (503 included: a healthy idle service has no reason to refuse) and schema violations (a status code,
content type, header or body the schema does not document). Two more are printed for information: schema-valid
requests the service refused (it validates more than the schema can say: unknown voice, empty text) and
schema-invalid requests it accepted.
"""

from __future__ import annotations

import math
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import (
    BenchError,
    BenchFailedError,
    machine_facts,
    print_header,
    result_header,
    write_json,
)
from benchmarks.local import local_service

# A response the schema does not describe.
VIOLATION_CHECKS = (
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
# The service is stricter (or looser) than its request schema: reported, not failed.
INFO_CHECKS = ("positive_data_acceptance", "negative_data_rejection")


@dataclass
class FuzzStats:
    total: int = 0
    by_class: Counter[str] = field(default_factory=Counter)
    by_operation: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    distinct: Counter[str] = field(default_factory=Counter)  # "check: operation -> status"
    no_response: int = 0
    unauthenticated_status: int | None = None  # GET /v1/models without the key (401 when keys are enforced)

    @property
    def server_errors(self) -> int:
        return self.by_class["5xx"]

    @property
    def violations(self) -> int:
        return sum(self.failures[name] for name in VIOLATION_CHECKS)

    def note(self, key: str, text: str, where: str = "") -> None:
        self.failures[key] += 1
        self.examples.setdefault(key, text[:1500])
        self.distinct[f"{key}: {where}"] += 1


def _fuzz_operations(url: str, api_key: str | None, requests: int, seed: int, timeout_s: float) -> FuzzStats:
    import hypothesis
    import requests as http
    import schemathesis
    from hypothesis import HealthCheck, Phase
    from hypothesis.errors import Unsatisfiable
    from schemathesis.checks import load_all_checks
    from schemathesis.core.failures import FailureGroup
    from schemathesis.core.result import Ok

    load_all_checks()
    import schemathesis.checks as registry

    checks = {name: getattr(registry, name) for name in (*VIOLATION_CHECKS, *INFO_CHECKS)}
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    session = http.Session()
    transport = {"base_url": url}
    stats = FuzzStats()
    if api_key:
        stats.unauthenticated_status = session.get(f"{url}/v1/models", timeout=timeout_s).status_code
    targets = []
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            raise BenchFailedError(f"the service's OpenAPI schema is invalid: {result.err()}")
        operation = result.ok()
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            targets.append((operation, mode))

    def run_one(operation: Any, mode: Any, max_examples: int, round_seed: int) -> None:
        @hypothesis.seed(round_seed)
        @hypothesis.settings(
            max_examples=max_examples,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @hypothesis.given(operation.as_strategy(generation_mode=mode))
        def exercise(case: Any) -> None:
            stats.total += 1
            stats.by_operation[f"{operation.label} [{mode.value}]"] += 1
            try:
                response = case.call(base_url=url, session=session, headers=headers, timeout=timeout_s)
            except http.RequestException as exc:
                stats.no_response += 1
                stats.note("no_response", f"{type(exc).__name__}: {exc}", operation.label)
                return
            stats.by_class[f"{response.status_code // 100}xx"] += 1
            where = f"{operation.label} -> {response.status_code}"
            if response.status_code >= 500:
                stats.note("server_error", f"{where}: {response.text[:300]}", where)
            for name, check in checks.items():
                try:
                    case.validate_response(response, checks=[check], headers=headers, transport_kwargs=transport)
                except FailureGroup as group:
                    stats.note(name, str(group), where)

        exercise()

    exhausted: set[int] = set()
    round_no = 0
    while stats.total < requests:
        active = [i for i in range(len(targets)) if i not in exhausted]
        if not active:
            break
        per_target = math.ceil((requests - stats.total) / len(active))
        before = stats.total
        for i in active:
            operation, mode = targets[i]
            try:
                run_one(operation, mode, per_target, seed + round_no)
            except Unsatisfiable:
                exhausted.add(i)  # e.g. negative mode for an operation without parameters: nothing to break
        round_no += 1
        if stats.total == before:
            break
    return stats


def run_fuzz(
    url: str | None, *, requests: int, seed: int, api_key: str | None, timeout_s: float, out: Path
) -> dict[str, Any]:
    if requests < 1:
        raise BenchError(f"--requests: {requests} must be at least 1")
    facts = machine_facts()
    print_header("fuzz", facts)
    started = time.perf_counter()
    if url is None:
        key = api_key or f"fuzz-{secrets.token_urlsafe(24)}"
        with local_service({"TTS_API_KEYS": key}) as serve:
            print(f"target: {serve.url} (API key required and sent)")
            stats = _fuzz_operations(serve.url, key, requests, seed, timeout_s)
    else:
        print(f"target: {url} ({'API key sent' if api_key else 'no API key'})")
        stats = _fuzz_operations(url.rstrip("/"), api_key, requests, seed, timeout_s)
    wall = time.perf_counter() - started
    result: dict[str, Any] = {
        **result_header("fuzz", facts),
        "seed": seed,
        "wall_s": round(wall, 1),
        "requests": stats.total,
        "by_status_class": dict(sorted(stats.by_class.items())),
        "no_response": stats.no_response,
        "unauthenticated_status": stats.unauthenticated_status,
        "server_errors_5xx": stats.server_errors,
        "schema_violations": stats.violations,
        "failures_by_check": dict(stats.failures),
        "by_operation": dict(sorted(stats.by_operation.items())),
        "distinct_failures": dict(stats.distinct.most_common()),
        "examples": stats.examples,
    }
    write_json(out, result)
    classes = ", ".join(f"{k} {stats.by_class[k]}" for k in ("2xx", "3xx", "4xx", "5xx"))
    print(f"requests: {stats.total} in {wall:.1f} s ({classes}, no response {stats.no_response}); seed {seed}")
    if stats.unauthenticated_status is not None:
        print(f"auth: GET /v1/models without the key -> {stats.unauthenticated_status}; every fuzz request sent it")
    print(f"5xx responses: {stats.server_errors} (must be 0)")
    detail = ", ".join(f"{name} {stats.failures[name]}" for name in VIOLATION_CHECKS)
    print(f"schema violations: {stats.violations} (must be 0): {detail}")
    print(
        f"informational: schema-valid requests refused {stats.failures['positive_data_acceptance']}, "
        f"schema-invalid requests accepted {stats.failures['negative_data_rejection']}"
    )
    for where, count in stats.distinct.most_common():
        print(f"  {count:>5} x {where}")
    for name in ("server_error", "no_response", *VIOLATION_CHECKS):
        if name in stats.examples:
            print(f"first {name}:\n{stats.examples[name]}")
    print(f"wrote {out}")
    if stats.server_errors or stats.violations or stats.no_response:
        raise BenchFailedError(
            f"FUZZ FAILED: {stats.server_errors} 5xx, {stats.violations} schema violation(s), "
            f"{stats.no_response} without a response, out of {stats.total} requests"
        )
    return result
