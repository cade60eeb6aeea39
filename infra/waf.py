"""The optional AWS WAF web ACL on the distribution (`cdn.waf.enabled`): a rate limit per client IP and AWS's common
rule set, so one client cannot fill the GPUs' queues and common exploit patterns stop at the edge.

Priced by the cost model (cost/bill.py `waf`, one web ACL + `WafConfig.rules` rules + requests inspected).
"""

from __future__ import annotations

import json

from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from voicefleet_config import WafConfig

RATE_RULE = "RatePerClientIp"
COMMON_RULE_SET = "AWSManagedRulesCommonRuleSet"
# The common rule set blocks request bodies over 8 KB (SizeRestrictions_BODY, AWS Managed Rules list); a voice's
# 3-30 s prompt clip is far larger, so that one rule only counts. The rest of the set blocks.
COUNT_ONLY_RULES = ("SizeRestrictions_BODY",)
_RATE_LIMITED_BODY = "rate_limited"


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


class EdgeFirewall(Construct):
    """A CLOUDFRONT-scope web ACL (us-east-1 only; infra/checks.py refuses other regions at synth)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: WafConfig, env_name: str) -> None:
        super().__init__(scope, construct_id)
        rate = wafv2.CfnWebACL.RuleProperty(
            name=RATE_RULE,
            priority=0,
            action=wafv2.CfnWebACL.RuleActionProperty(
                block=wafv2.CfnWebACL.BlockActionProperty(
                    # 429 + Retry-After, the status the service itself answers when its queue is full.
                    custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                        response_code=429,
                        custom_response_body_key=_RATE_LIMITED_BODY,
                        response_headers=[
                            wafv2.CfnWebACL.CustomHTTPHeaderProperty(name="retry-after", value=str(config.window_s))
                        ],
                    )
                )
            ),
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    aggregate_key_type="IP",
                    limit=config.rate_limit,
                    evaluation_window_sec=config.window_s,
                    # Only the API spends GPU time; cached audio downloads do not count against a client.
                    scope_down_statement=wafv2.CfnWebACL.StatementProperty(
                        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
                            positional_constraint="STARTS_WITH",
                            search_string="/v1/",
                            text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
                        )
                    ),
                )
            ),
            visibility_config=_visibility(RATE_RULE),
        )
        common = wafv2.CfnWebACL.RuleProperty(
            name=COMMON_RULE_SET,
            priority=1,
            override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                    vendor_name="AWS",
                    name=COMMON_RULE_SET,
                    rule_action_overrides=[
                        wafv2.CfnWebACL.RuleActionOverrideProperty(
                            name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                        )
                        for rule in COUNT_ONLY_RULES
                    ],
                )
            ),
            visibility_config=_visibility(COMMON_RULE_SET),
        )
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=f"voicefleet-{env_name}-edge",
            description=f"voicefleet {env_name}: rate limit per client IP and AWS common rule set",
            scope="CLOUDFRONT",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            custom_response_bodies={
                _RATE_LIMITED_BODY: wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON", content=json.dumps({"detail": "rate limit exceeded"})
                )
            },
            rules=[rate, common],
            visibility_config=_visibility(f"voicefleet-{env_name}-edge"),
        )
        self.arn = self.web_acl.attr_arn
