"""The edge gate rehearsed: the CloudFront Function code exactly as synthesized, run by Node on CloudFront-shaped
viewer-request events.

Node is not CloudFront's runtime (cloudfront-js-2.0, a JavaScript subset): the gate uses only `var`, `indexOf` and
object literals, which both run alike. The event and generated-response shapes follow the CloudFront Functions event
structure page (request.uri; statusCode, statusDescription, headers, body {encoding, data}).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.cdn import gate_code
from tests.infra.conftest import only
from voicefleet_config import CdnConfig

_RUNNER = """
%s
var uris = %s;
var out = {};
for (var i = 0; i < uris.length; i++) {
    out[uris[i]] = handler({version: '1.0', context: {eventType: 'viewer-request'}, viewer: {ip: '198.51.100.7'},
                            request: {method: 'GET', uri: uris[i], querystring: {}, headers: {}, cookies: {}}});
}
console.log(JSON.stringify(out));
"""
# Everything the service answers that is not API, audio or try-it page, plus near misses of the allowed paths.
_CLOSED = ["/metrics", "/docs", "/openapi.json", "/healthz", "/readyz", "/admin/restart", "/index.html", "/v1", "//"]


def _run(code: str, uris: list[str]) -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "Node (needed by the CDK itself) is not on PATH"
    done = subprocess.run(
        [node, "-e", _RUNNER % (code, json.dumps(uris))], capture_output=True, text=True, timeout=60, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _synthesized(template: Template) -> str:
    code: str = only(template, "AWS::CloudFront::Function")["Properties"]["FunctionCode"]
    return code


def _is_404(answer: dict[str, Any]) -> bool:
    return (
        answer.get("statusCode") == 404
        and answer["headers"]["content-type"]["value"] == "application/json"
        and json.loads(answer["body"]["data"]) == {"detail": "not found"}
        and answer["body"]["encoding"] == "text"
    )


def test_prod_gate_answers_404_for_everything_it_sees(prod: Template) -> None:
    answers = _run(_synthesized(prod), [*_CLOSED, "/"])
    assert all(_is_404(a) for a in answers.values()), answers


def test_try_it_gate_passes_only_the_page_itself(front: Template) -> None:
    answers = _run(_synthesized(front), [*_CLOSED, "/"])
    assert answers.pop("/")["uri"] == "/"  # the request itself, unchanged: CloudFront forwards it to the ALB
    assert all(_is_404(a) for a in answers.values()), answers


@pytest.mark.parametrize("try_it", [False, True])
def test_gate_source_is_what_the_template_carries(prod: Template, front: Template, try_it: bool) -> None:
    assert gate_code(CdnConfig(try_it_page=try_it)) == _synthesized(front if try_it else prod)
