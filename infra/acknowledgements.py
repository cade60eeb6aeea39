"""The one list of cdk-nag (AwsSolutions) findings this app acknowledges, each with its reason.

cdk-nag 3 is a policy-validation plugin. `Validations.of(c).acknowledge()` refuses granular finding ids such as
`AwsSolutions-IAM5[Resource::*]` (the '::' is reserved, cdklabs/cdk-nag#2351) and matches by rule id across the
whole app (aws/aws-cdk#38495). cdk-nag itself skips a finding whose exact id appears under the
`Validations.ACKNOWLEDGED_RULES_METADATA_KEY` metadata of the resource or an ancestor (cdklabs/cdk-nag#2349), so
each acknowledgement is written there, on the construct it is about, finding by finding (cdklabs/cdk-nag#2359):
a new wildcard or a new resource with the same rule still fails the synth.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import aws_cdk as cdk
from constructs import IConstruct

from voicefleet_config import EnvironmentConfig

_REF = re.compile(r"\{ref:([^}]+)\}")
# The singleton Lambda behind every AwsCustomResource (a fixed id in aws-cdk-lib).
CUSTOM_RESOURCE_PROVIDER = "AWS679f53fac002430cb0da5b7982bd2287"


def _always(_: EnvironmentConfig) -> bool:
    return True


@dataclass(frozen=True)
class Ack:
    rule: str
    where: str  # construct path below the stack; a trailing '*' matches an id prefix (CDK-generated names)
    reason: str
    # Granular findings (the part in brackets); '{ref:Path}' is that construct's logical id, '{account}', '{region}',
    # '{asg_name}' and '{model_prefix}' come from the environment. Empty: the rule's plain id.
    findings: tuple[str, ...] = ()
    applies: Callable[[EnvironmentConfig], bool] = _always
    optional: bool = False  # the construct exists only in some configurations


# Every stack with a CDK AwsCustomResource carries its provider Lambda, whose runtime is not ours to choose.
CUSTOM_RESOURCE_RUNTIME = Ack(
    "AwsSolutions-L1",
    CUSTOM_RESOURCE_PROVIDER,
    "The AwsCustomResource provider's runtime is chosen by aws-cdk-lib and moves with it.",
    optional=True,
)

_ASG_ARN = (
    "Resource::arn:<AWS::Partition>:autoscaling:{region}:{account}:autoScalingGroup:*:autoScalingGroupName/{asg_name}"
)
_IAM5_INSTANCE = (
    "Instance role wildcards, each scoped: s3:GetObject*/GetBucket*/List*/DeleteObject*/Abort* come from CDK's "
    "bucket grant helpers and are limited to the models bucket's model prefix and code key, the outputs bucket's "
    "audio/ and voices/ prefixes (the source bundle is granted by its exact key); the Auto Scaling ARN has '*' "
    "only in place of the group's random id (name fixed); cloudwatch:PutMetricData has no resource type and is "
    "conditioned on the CWAgent/VoiceFleet namespaces; ec2:DescribeTags and logs:DescribeLogGroups support no "
    "resource-level scoping."
)
_IAM5_LAMBDA = (
    "Lambda role wildcards: its own log group's streams (':*'), the Auto Scaling group ARN with '*' only in place "
    "of the random group id, and Describe* / PutMetricData calls that support no resource-level scoping "
    "(PutMetricData is conditioned on the VoiceFleet namespace)."
)

ACKNOWLEDGEMENTS: tuple[Ack, ...] = (
    Ack(
        "AwsSolutions-IAM5",
        "Fleet/InstanceRole",
        _IAM5_INSTANCE,
        findings=(
            "Action::s3:GetObject*",
            "Action::s3:GetBucket*",
            "Action::s3:List*",
            "Action::s3:Abort*",
            "Action::s3:DeleteObject*",
            "Resource::*",
            "Resource::<{ref:Storage/Models}.Arn>/{model_prefix}*",
            "Resource::<{ref:Storage/Outputs}.Arn>/audio/*",
            "Resource::<{ref:Storage/Outputs}.Arn>/voices/*",
            _ASG_ARN,
        ),
    ),
    Ack(
        "AwsSolutions-IAM4",
        "Fleet/InstanceRole",
        "AmazonSSMManagedInstanceCore is AWS's minimal, maintained policy for Session Manager, which replaces SSH "
        "keys and open ports on the GPU instances.",
        findings=("Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore",),
    ),
    Ack(
        "AwsSolutions-EC26",
        "Fleet/Asg",
        "The rule cannot read the mixed-instances launch template and errors; the root gp3 volume is encrypted in "
        "the launch template (asserted in tests/infra/test_fleet.py).",
    ),
    Ack(
        "AwsSolutions-AS3",
        "Fleet/Asg",
        "The fleet scales twice a day on schedule; per-event e-mails would be noise. Launch failures surface as the "
        "UnhealthyHosts alarm and instance counts on the dashboard.",
    ),
    Ack(
        "AwsSolutions-SMG4",
        "Fleet/ApiKeys",
        "Client API keys are rotated by operators (put-secret-value; instances re-read it, docs/service.md); automatic "
        "rotation would lock out clients holding the old key.",
    ),
    Ack(
        "AwsSolutions-SMG4",
        "Fleet/AdminKey",
        "The admin key is rotated by operators like the API keys (docs/infra.md).",
    ),
    Ack(
        "AwsSolutions-IAM5",
        "LoadBalancer/VpcOriginSecurityGroup",
        "ec2:DescribeSecurityGroups supports no resource-level scoping; the call is read-only (it finds the group "
        "CloudFront creates for its VPC origin, whose id CloudFormation does not return).",
        findings=("Resource::*",),
    ),
    Ack(
        "AwsSolutions-IAM4",
        CUSTOM_RESOURCE_PROVIDER,
        "CDK's AwsCustomResource provider (VPC-origin security group lookup) uses AWSLambdaBasicExecutionRole for its "
        "logs only.",
        findings=("Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",),
    ),
    CUSTOM_RESOURCE_RUNTIME,
    Ack(
        "AwsSolutions-CFR1",
        "Cdn/Distribution",
        "The API serves any country the operator's clients are in; price class limits edge locations, and access is "
        "by API key.",
    ),
    Ack(
        "AwsSolutions-CFR2",
        "Cdn/Distribution",
        "The web ACL is opt-in (cdn.waf.enabled; a monthly charge per ACL and rule, priced by cost-estimate): every "
        "API call needs an API key, and the service's bounded queue answers floods with 429. Enable it for public "
        "exposure.",
        applies=lambda config: not config.cdn.waf.enabled,
    ),
    Ack(
        "AwsSolutions-CFR4",
        "Cdn/Distribution",
        "Without a custom domain the distribution uses the *.cloudfront.net certificate, whose security policy "
        "CloudFront fixes; with cdn.domain_name the policy is TLSv1.2_2021 and this finding does not arise.",
        applies=lambda config: config.cdn.domain_name is None,
    ),
    Ack(
        "AwsSolutions-IAM5",
        "Schedule/Handler/Role",
        _IAM5_LAMBDA,
        findings=("Resource::*", "Resource::<{ref:Schedule/Handler/Logs}.Arn>:*", _ASG_ARN),
    ),
    Ack(
        "AwsSolutions-IAM5",
        "Spot/Handler/Role",
        _IAM5_LAMBDA,
        findings=("Resource::*", "Resource::<{ref:Spot/Handler/Logs}.Arn>:*", _ASG_ARN),
    ),
    Ack(
        "AwsSolutions-IAM5",
        "SchedulerRoleForTarget-*",
        "CDK's EventBridge Scheduler role may invoke the scheduler function and its versions (':*'), nothing else.",
        findings=("Resource::<{ref:Schedule/Handler/Function}.Arn>:*",),
        optional=True,
    ),
    Ack(
        "AwsSolutions-L1",
        "Schedule/Handler/Function",
        "Python 3.12 is the runtime fixed by the contract with lambdas/ and the one its tests run on.",
    ),
    Ack(
        "AwsSolutions-L1",
        "Spot/Handler/Function",
        "Python 3.12 is the runtime fixed by the contract with lambdas/ and the one its tests run on.",
    ),
    Ack("AwsSolutions-SQS3", "Schedule/DeadLetters", "This queue is the schedules' dead-letter queue."),
    Ack("AwsSolutions-SQS3", "Spot/DeadLetters", "This queue is the Spot rule's dead-letter queue."),
)


def find(root: IConstruct, path: str) -> IConstruct | None:
    """The construct at `path` below `root`; a part ending in '*' matches the first child id with that prefix."""
    node = root
    for part in path.split("/"):
        if part.endswith("*"):
            matches = [child for child in node.node.children if child.node.id.startswith(part[:-1])]
            child = matches[0] if matches else None
        else:
            child = node.node.try_find_child(part)
        if child is None:
            return None
        node = child
    return node


def finding_ids(ack: Ack, stack: cdk.Stack, fixed: dict[str, str]) -> list[str]:
    """The exact ids cdk-nag reports for this acknowledgement in this stack ('{...}' filled in from `fixed`)."""
    if not ack.findings:
        return [ack.rule]

    def logical_id(match: re.Match[str]) -> str:
        construct = find(stack, match.group(1))
        element = construct.node.default_child if construct is not None else None
        if not isinstance(element, cdk.CfnElement):
            raise LookupError(f"cdk-nag acknowledgement for {ack.rule}: no resource at '{match.group(1)}'")
        return str(stack.resolve(stack.get_logical_id(element)))

    ids = []
    for finding in ack.findings:
        for key, value in fixed.items():
            finding = finding.replace(key, value)
        ids.append(f"{ack.rule}[{_REF.sub(logical_id, finding)}]")
    return ids


def attach(
    stack: cdk.Stack, acks: tuple[Ack, ...], fixed: dict[str, str], config: EnvironmentConfig | None = None
) -> None:
    """Attach every acknowledgement that applies; a missing required construct is a bug."""
    for ack in acks:
        if config is not None and not ack.applies(config):
            continue
        target = find(stack, ack.where)
        if target is None:
            if ack.optional:
                continue
            raise LookupError(f"cdk-nag acknowledgement for {ack.rule}: no construct at '{ack.where}'")
        ids = dict.fromkeys(finding_ids(ack, stack, fixed), ack.reason)
        target.node.add_metadata(cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY, ids, stack_trace=False)


def acknowledge(stack: cdk.Stack, config: EnvironmentConfig, *, asg_name: str) -> None:
    """Attach every acknowledgement that applies to this environment."""
    fixed = {
        "{account}": config.account or "<AWS::AccountId>",
        "{region}": config.region,
        "{asg_name}": asg_name,
        "{model_prefix}": config.service.model_prefix,
    }
    attach(stack, ACKNOWLEDGEMENTS, fixed, config)
