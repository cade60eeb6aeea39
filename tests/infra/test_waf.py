"""The optional web ACL: a rate limit per client IP on /v1/* (429 + Retry-After) and AWS's common rule set, attached
to the distribution; absent by default; its rule count is what the cost model prices."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Template

from infra.waf import COMMON_RULE_SET, COUNT_ONLY_RULES, RATE_RULE
from tests.infra.conftest import FRONT, FRONT_CONFIG, only
from voicefleet_config import load_environments


def _acl(template: Template) -> dict[str, Any]:
    props: dict[str, Any] = only(template, "AWS::WAFv2::WebACL")["Properties"]
    return props


def test_rate_limit_per_client_ip_on_the_api(front: Template) -> None:
    rules = {r["Name"]: r for r in _acl(front)["Rules"]}
    rate = rules[RATE_RULE]
    statement = rate["Statement"]["RateBasedStatement"]
    assert (statement["AggregateKeyType"], statement["Limit"], statement["EvaluationWindowSec"]) == ("IP", 600, 300)
    scope = statement["ScopeDownStatement"]["ByteMatchStatement"]
    assert (scope["SearchString"], scope["PositionalConstraint"]) == ("/v1/", "STARTS_WITH")
    assert "UriPath" in scope["FieldToMatch"]
    response = rate["Action"]["Block"]["CustomResponse"]
    assert response["ResponseCode"] == 429
    assert response["ResponseHeaders"] == [{"Name": "retry-after", "Value": "300"}]
    body = _acl(front)["CustomResponseBodies"][response["CustomResponseBodyKey"]]
    assert body["ContentType"] == "APPLICATION_JSON"


def test_common_rule_set_blocks_but_lets_voice_uploads_through(front: Template) -> None:
    rules = {r["Name"]: r for r in _acl(front)["Rules"]}
    group = rules[COMMON_RULE_SET]
    assert group["OverrideAction"] == {"None": {}}  # the group's own actions (block) apply
    managed = group["Statement"]["ManagedRuleGroupStatement"]
    assert (managed["VendorName"], managed["Name"]) == ("AWS", "AWSManagedRulesCommonRuleSet")
    # Prompt clips are larger than the set's 8 KB body limit: that one rule only counts.
    assert managed["RuleActionOverrides"] == [{"Name": name, "ActionToUse": {"Count": {}}} for name in COUNT_ONLY_RULES]
    assert rules[RATE_RULE]["Priority"] < group["Priority"]


def test_web_acl_is_cloudfront_scope_and_attached(front: Template) -> None:
    acl = _acl(front)
    assert acl["Scope"] == "CLOUDFRONT"
    assert acl["DefaultAction"] == {"Allow": {}}
    assert all(r["VisibilityConfig"]["SampledRequestsEnabled"] for r in acl["Rules"])
    acl_id = next(iter(front.find_resources("AWS::WAFv2::WebACL")))
    dist = only(front, "AWS::CloudFront::Distribution")["Properties"]["DistributionConfig"]
    assert dist["WebACLId"] == {"Fn::GetAtt": [acl_id, "Arn"]}


def test_no_web_acl_by_default(prod: Template, dev: Template) -> None:
    for template in (prod, dev):
        template.resource_count_is("AWS::WAFv2::WebACL", 0)
        dist = only(template, "AWS::CloudFront::Distribution")["Properties"]["DistributionConfig"]
        assert "WebACLId" not in dist


def test_rule_count_is_what_the_cost_model_prices(front: Template) -> None:
    config = load_environments(raw={FRONT: FRONT_CONFIG})[FRONT]
    assert len(_acl(front)["Rules"]) == config.cdn.waf.rules == 2
