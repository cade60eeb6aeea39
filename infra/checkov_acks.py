"""The one list of checkov findings this app acknowledges, each with its reason (the checkov twin of
infra/acknowledgements.py, which holds the cdk-nag ones).

checkov reads suppressions from a CloudFormation resource's own `Metadata: {checkov: {skip: [{id, comment}]}}`
(checkov/cloudformation/context_parser.py `collect_skip_comments`), so each acknowledgement is written there, on the
resource it is about: the same check on any other resource still fails. tests/infra/test_checkov.py runs checkov on
every synthesized template and fails on any failed check, any skip without its reason, and any acknowledgement that
no longer matches a finding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import aws_cdk as cdk

from infra.acknowledgements import CUSTOM_RESOURCE_PROVIDER, find
from voicefleet_config import EnvironmentConfig

CHECKOV_METADATA_KEY = "checkov"
# CDK's own deploy-time helpers (fixed construct ids in aws-cdk-lib): the AwsCustomResource singleton, bucket
# auto-delete (disposable environments only) and the default security group's rule removal.
_CDK_PROVIDERS = (
    CUSTOM_RESOURCE_PROVIDER,
    "Custom::S3AutoDeleteObjectsCustomResourceProvider/Handler",
    "Custom::VpcRestrictDefaultSGCustomResourceProvider/Handler",
)
_OUR_FUNCTIONS = ("Schedule/Handler/Function", "Spot/Handler/Function")
_CDK_PROVIDER_REASON = (
    "CDK's own deploy-time provider function (its code, runtime and settings come with aws-cdk-lib); it runs only "
    "while CloudFormation creates, updates or deletes a resource."
)


def _always(_: EnvironmentConfig) -> bool:
    return True


@dataclass(frozen=True)
class CheckovAck:
    check: str
    where: tuple[str, ...]  # construct paths below the stack ('*' suffix: id prefix), as in infra/acknowledgements.py
    reason: str
    applies: Callable[[EnvironmentConfig], bool] = _always
    optional: tuple[str, ...] = ()  # the paths among `where` that exist only in some configurations


CHECKOV_ACKS: tuple[CheckovAck, ...] = (
    CheckovAck(
        "CKV_AWS_2",
        ("LoadBalancer/Alb/Http",),
        "Internal ALB in isolated subnets: only CloudFront's VPC origin reaches it, over AWS's network, never the "
        "internet. It has no public name a certificate could be issued for (docs/infra.md, 'The front door').",
    ),
    CheckovAck(
        "CKV_AWS_103",
        ("LoadBalancer/Alb/Http",),
        "The listener is HTTP inside AWS's network (the VPC-origin hop, see CKV_AWS_2); viewers reach CloudFront over "
        "TLS only (HTTPS redirect).",
    ),
    CheckovAck(
        "CKV_AWS_174",
        ("Cdn/Distribution",),
        "Without cdn.domain_name the distribution uses the *.cloudfront.net certificate, whose security policy "
        "CloudFront fixes; with a custom domain the policy is TLSv1.2_2021 and this check passes.",
        applies=lambda config: config.cdn.domain_name is None,
    ),
    CheckovAck(
        "CKV_AWS_68",
        ("Cdn/Distribution",),
        "The web ACL is opt-in (cdn.waf.enabled; a monthly charge per ACL and rule, priced by cost-estimate): every "
        "API call needs an API key and the service answers floods with 429.",
        applies=lambda config: not config.cdn.waf.enabled,
    ),
    CheckovAck(
        "CKV_AWS_192",
        ("Firewall/WebAcl",),
        "The check wants AWS's Known Bad Inputs rule group for Log4j (CVE-2021-44228) lookups; no Java runs behind "
        "this ACL (Python service, Python Lambdas), and each rule group is another monthly rule charge.",
        applies=lambda config: config.cdn.waf.enabled,
    ),
    CheckovAck(
        "CKV_AWS_21",
        ("Storage/Outputs",),
        "Versioning would keep every expired audio file and every deleted voice prompt as a noncurrent version: the "
        "lifecycle's expiry and a client's voice deletion must really remove the data.",
    ),
    CheckovAck(
        "CKV_AWS_21",
        ("Storage/Logs",),
        "Access logs are written once by AWS services and expire by lifecycle; versions would only keep them longer.",
    ),
    CheckovAck(
        "CKV_AWS_18",
        ("Storage/Logs",),
        "This is the access-log bucket itself; logging it into itself would log its own log deliveries.",
    ),
    CheckovAck(
        "CKV_AWS_149",
        ("Fleet/ApiKeys", "Fleet/AdminKey"),
        "Encrypted with the AWS managed key for Secrets Manager; a customer managed key adds a monthly charge per "
        "key and a key policy to keep, for secrets only the instance role may read.",
    ),
    CheckovAck(
        "CKV_AWS_158",
        ("Fleet/Logs", "Network/FlowLogs", "Schedule/Handler/Logs", "Spot/Handler/Logs"),
        "CloudWatch Logs encrypts every log group at rest with its own key; a customer managed key adds a monthly "
        "charge and a key policy for logs that hold no secrets (the service never logs keys or text bodies).",
    ),
    CheckovAck(
        "CKV_AWS_26",
        ("Alerts/Topic",),
        "CloudWatch alarms and AWS Budgets cannot publish to a topic encrypted with the AWS managed SNS key; a "
        "customer managed key would be needed for alarm texts that hold no secrets.",
    ),
    CheckovAck(
        "CKV_AWS_119",
        ("Spot/SeenEvents",),
        "The Spot dedupe table holds event and instance ids for a day (TTL), nothing secret; it is encrypted at rest "
        "with the AWS managed DynamoDB key, and a customer managed key would add a monthly charge and a key policy.",
    ),
    CheckovAck(
        "CKV_AWS_27",
        ("Schedule/DeadLetters", "Spot/DeadLetters"),
        "Encrypted with SQS-managed keys (SqsManagedSseEnabled, infra/functions.py dead_letter_queue); the check "
        "only recognises a KMS key id.",
    ),
    CheckovAck(
        "CKV_AWS_115",
        _OUR_FUNCTIONS,
        "Run by a 15-minute schedule and by Spot events, a few times an hour; reserved concurrency would carve "
        "capacity out of the account's shared pool for no gain.",
    ),
    CheckovAck(
        "CKV_AWS_116",
        _OUR_FUNCTIONS,
        "Failed invocations go to the function's on-failure destination (EventInvokeConfig, infra/functions.py), the "
        "queue its schedule or rule dead-letters to (docs/lambdas.md); a DeadLetterConfig would duplicate it with "
        "less (no error, no retry count).",
    ),
    CheckovAck(
        "CKV_AWS_117",
        _OUR_FUNCTIONS,
        "They call only AWS APIs (Auto Scaling, EC2, SNS, CloudWatch, DynamoDB); inside the VPC they would need a NAT "
        "gateway or interface endpoints, a fixed monthly charge, for the same calls.",
    ),
    CheckovAck(
        "CKV_AWS_173",
        _OUR_FUNCTIONS,
        "Lambda encrypts environment variables at rest with its AWS managed key; these hold no secrets (group name, "
        "timezone, calendar, topic ARN).",
    ),
    *(
        CheckovAck(check, _CDK_PROVIDERS, _CDK_PROVIDER_REASON, optional=_CDK_PROVIDERS[1:2])
        for check in ("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117")
    ),
)


def _resource(stack: cdk.Stack, path: str) -> cdk.CfnResource | None:
    construct = find(stack, path)
    if construct is None:
        return None
    element = construct if isinstance(construct, cdk.CfnResource) else construct.node.default_child
    return element if isinstance(element, cdk.CfnResource) else None


def acknowledge_checkov(stack: cdk.Stack, config: EnvironmentConfig) -> None:
    """Write every acknowledgement that applies into its resource's checkov metadata; a missing one is a bug."""
    _write(stack, [ack for ack in CHECKOV_ACKS if ack.applies(config)], optional=False)


def acknowledge_checkov_cdk_providers(stack: cdk.Stack) -> None:
    """A stack without an environment (the region's image stack): only CDK's own provider functions, where present."""
    _write(stack, [ack for ack in CHECKOV_ACKS if ack.where == _CDK_PROVIDERS], optional=True)


def _write(stack: cdk.Stack, acks: list[CheckovAck], *, optional: bool) -> None:
    skips: dict[str, tuple[cdk.CfnResource, list[dict[str, str]]]] = {}
    for ack in acks:
        for path in ack.where:
            resource = _resource(stack, path)
            if resource is None:
                if optional or path in ack.optional:
                    continue
                raise LookupError(f"checkov acknowledgement for {ack.check}: no resource at '{path}'")
            entry = skips.setdefault(resource.node.path, (resource, []))
            entry[1].append({"id": ack.check, "comment": ack.reason})
    for resource, skip in skips.values():
        resource.add_metadata(CHECKOV_METADATA_KEY, {"skip": skip})
