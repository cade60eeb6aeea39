"""The Auto Scaling group of GPU instances running the synthesis service."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.fleet.cloudwatch_agent import GPU_NAMESPACE, SERVICE_NAMESPACE
from infra.fleet.scaling import add_scaling
from infra.fleet.user_data import DRAIN_HOOK, LAUNCH_HOOK, BootNames, render
from infra.image import components
from infra.load_balancer import drain_seconds
from infra.storage import OUTPUTS_PREFIX, VOICES_PREFIX
from voicefleet_config import EnvironmentConfig

_SPOT_STRATEGY = {
    "price-capacity-optimized": autoscaling.SpotAllocationStrategy.PRICE_CAPACITY_OPTIMIZED,
    "capacity-optimized": autoscaling.SpotAllocationStrategy.CAPACITY_OPTIMIZED,
    "lowest-price": autoscaling.SpotAllocationStrategy.LOWEST_PRICE,
    "capacity-optimized-prioritized": autoscaling.SpotAllocationStrategy.CAPACITY_OPTIMIZED_PRIORITIZED,
}


def image_parameter(config: EnvironmentConfig) -> str:
    """The SSM parameter holding the AMI this environment launches (its own when it bakes its weights)."""
    return components.image_parameter(config.name, config.image.weights)


def boot_budget(config: EnvironmentConfig) -> cdk.Duration:
    """Launch -> ready (fleet.boot_minutes): the launch hook's timeout; the same figure is the schedule's warm-up
    and the cost model's warm-up hours."""
    return cdk.Duration.minutes(config.fleet.boot_minutes)


def elb_verdict(target_group: elbv2.ApplicationTargetGroup) -> cdk.Duration:
    """How long the load balancer takes to call a serving target healthy (interval x healthy threshold). The launch
    hook keeps an instance out of service until it serves (AWS: with a launch hook the grace can be 0), so this is
    the only grace an in-service instance needs; it is also when it starts counting for scaling."""
    check = target_group.health_check
    interval = check.interval.to_seconds() if check.interval else 30
    return cdk.Duration.seconds(interval * (check.healthy_threshold_count or 5))


def asg_name(config: EnvironmentConfig) -> str:
    """A fixed group name, so IAM policies and Lambdas can be scoped to it without a circular reference."""
    return f"voicefleet-{config.name}-gpu"


class Fleet(Construct):
    """Spot-first GPU instances behind the ALB target group, drained before termination."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        alb_security_group: ec2.ISecurityGroup,
        target_group: elbv2.ApplicationTargetGroup,
        models_bucket: s3.IBucket,
        outputs_bucket: s3.IBucket,
        cdn_domain: str,
    ) -> None:
        super().__init__(scope, construct_id)
        fleet = config.fleet
        stack = cdk.Stack.of(self)
        self.asg_name = asg_name(config)
        self.asg_arn = stack.format_arn(
            service="autoscaling",
            resource="autoScalingGroup",
            resource_name=f"*:autoScalingGroupName/{self.asg_name}",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        self.drain_hook_name = DRAIN_HOOK
        self.launch_hook_name = LAUNCH_HOOK

        self.security_group = ec2.SecurityGroup(
            self,
            "InstanceSg",
            vpc=vpc,
            description="GPU instances: service port from the ALB only",
            allow_all_outbound=True,
        )
        self.security_group.add_ingress_rule(alb_security_group, ec2.Port.tcp(fleet.service_port), "ALB to service")

        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/voicefleet/{config.name}/instances",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=cdk.RemovalPolicy.DESTROY if config.disposable else cdk.RemovalPolicy.RETAIN,
        )
        # Clients hold these keys: a stack update that replaced a secret (or a delete) would otherwise destroy the
        # only copy of them. Retained, the old secret's value can be put into a replacement. Disposable: deleted.
        key_removal = cdk.RemovalPolicy.DESTROY if config.disposable else cdk.RemovalPolicy.RETAIN
        self.api_keys = secretsmanager.Secret(
            self,
            "ApiKeys",
            description=f"voicefleet {config.name}: comma-separated client API keys (TTS_API_KEYS)",
            generate_secret_string=secretsmanager.SecretStringGenerator(exclude_punctuation=True, password_length=40),
            removal_policy=key_removal,
        )
        self.admin_key = secretsmanager.Secret(
            self,
            "AdminKey",
            description=f"voicefleet {config.name}: admin API key (TTS_ADMIN_KEY)",
            generate_secret_string=secretsmanager.SecretStringGenerator(exclude_punctuation=True, password_length=40),
            removal_policy=key_removal,
        )
        self.role = self._role(config, models_bucket, outputs_bucket)

        user_data = ec2.UserData.for_linux(shebang="#!/bin/bash")
        names = BootNames(
            asg_name=self.asg_name,
            models_bucket=models_bucket.bucket_name,
            outputs_bucket=outputs_bucket.bucket_name,
            cdn_domain=cdn_domain,
            api_keys_secret=self.api_keys.secret_arn,
            admin_key_secret=self.admin_key.secret_arn,
            log_group=self.log_group.log_group_name,
            drain_hook=self.drain_hook_name,
            launch_hook=self.launch_hook_name,
        )
        script = render(config, names, stop_timeout_s=drain_seconds(config))
        user_data.add_commands(script.removeprefix("#!/bin/bash\n"))

        self.launch_template = ec2.LaunchTemplate(
            self,
            "LaunchTemplate",
            # Resolved by EC2 at each launch (not at deploy): the image pipeline publishes there, so a new image
            # reaches new launches, and an instance refresh rolls it onto running ones (docs/infra.md).
            machine_image=ec2.MachineImage.resolve_ssm_parameter_at_launch(
                image_parameter(config), os=ec2.OperatingSystemType.LINUX
            ),
            # A warm pool cannot hold Spot or mixed-type groups, so that case pins the first (preferred) type.
            instance_type=ec2.InstanceType(fleet.instance_types[0]) if fleet.warm_pool else None,
            require_imdsv2=True,
            http_put_response_hop_limit=1,
            role=self.role,
            security_group=self.security_group,
            user_data=user_data,
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/sda1",
                    volume=ec2.BlockDeviceVolume.ebs(
                        fleet.root_volume_gib,
                        volume_type=ec2.EbsDeviceVolumeType.GP3,
                        encrypted=True,
                        delete_on_termination=True,
                    ),
                )
            ],
            instance_initiated_shutdown_behavior=ec2.InstanceInitiatedShutdownBehavior.TERMINATE,
        )

        self.asg = autoscaling.AutoScalingGroup(
            self,
            "Asg",
            vpc=vpc,
            vpc_subnets=subnets,
            auto_scaling_group_name=self.asg_name,
            # MinSize 0 and no desired capacity: the scheduler owns sizing (fleet.min/desired via DEFAULT_SIZE, or the
            # saved tag), so `cdk deploy` launches no GPU (before the image or the weights exist) and never resets a
            # scaled-out or stopped fleet (aws-cdk#5215).
            min_capacity=0,
            max_capacity=fleet.max_capacity,
            capacity_rebalance=fleet.capacity_rebalance if not fleet.warm_pool else None,
            mixed_instances_policy=None if fleet.warm_pool else self._mixed_policy(config),
            launch_template=self.launch_template if fleet.warm_pool else None,
            health_checks=autoscaling.HealthChecks.with_additional_checks(
                additional_types=[autoscaling.AdditionalHealthCheckType.ELB], grace_period=elb_verdict(target_group)
            ),
            default_instance_warmup=elb_verdict(target_group),
            group_metrics=[autoscaling.GroupMetrics.all()],
            termination_policies=[
                autoscaling.TerminationPolicy.OLDEST_LAUNCH_TEMPLATE,
                autoscaling.TerminationPolicy.DEFAULT,
            ],
        )
        self.asg.attach_to_application_target_group(target_group)
        # Completed by the instance's gate (instance/gate.py): CONTINUE once /readyz is 200 and one synthesis
        # succeeded, ABANDON with the reason on a failed boot; a boot that hangs is abandoned at the timeout.
        self.asg.add_lifecycle_hook(
            "Launch",
            lifecycle_hook_name=self.launch_hook_name,
            lifecycle_transition=autoscaling.LifecycleTransition.INSTANCE_LAUNCHING,
            default_result=autoscaling.DefaultResult.ABANDON,
            heartbeat_timeout=boot_budget(config),
        )
        self.asg.add_lifecycle_hook(
            "Drain",
            lifecycle_hook_name=self.drain_hook_name,
            lifecycle_transition=autoscaling.LifecycleTransition.INSTANCE_TERMINATING,
            default_result=autoscaling.DefaultResult.CONTINUE,
            # The service's own drain (deregistration delay) plus a minute to flush its spool and stop.
            heartbeat_timeout=cdk.Duration.seconds(drain_seconds(config) + 60),
        )
        if fleet.warm_pool:
            self.asg.add_warm_pool(
                min_size=fleet.desired_capacity,
                pool_state=autoscaling.PoolState.STOPPED,
                reuse_on_scale_in=True,
            )
        self.scaling = add_scaling(self.asg, asg_name=self.asg_name, config=config)

    def _mixed_policy(self, config: EnvironmentConfig) -> autoscaling.MixedInstancesPolicy:
        fleet = config.fleet
        return autoscaling.MixedInstancesPolicy(
            launch_template=self.launch_template,
            launch_template_overrides=[
                autoscaling.LaunchTemplateOverrides(instance_type=ec2.InstanceType(name))
                for name in fleet.instance_types
            ],
            instances_distribution=autoscaling.InstancesDistribution(
                on_demand_allocation_strategy=autoscaling.OnDemandAllocationStrategy.PRIORITIZED,
                on_demand_base_capacity=fleet.on_demand_base_capacity,
                on_demand_percentage_above_base_capacity=fleet.on_demand_percentage_above_base,
                spot_allocation_strategy=_SPOT_STRATEGY[fleet.spot_allocation_strategy],
            ),
        )

    def _role(
        self,
        config: EnvironmentConfig,
        models_bucket: s3.IBucket,
        outputs_bucket: s3.IBucket,
    ) -> iam.Role:
        """Least privilege: read weights (when pulled), write audio/voices, publish metrics and logs, Session Manager,
        complete its lifecycle hooks."""
        role = iam.Role(
            self,
            "InstanceRole",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            description=f"voicefleet {config.name} GPU instances",
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("AmazonSSMManagedInstanceCore")],
        )
        if config.image.weights == "pulled":
            models_bucket.grant_read(role, f"{config.service.model_prefix}*")
        outputs_bucket.grant_put(role, f"{OUTPUTS_PREFIX}*")
        outputs_bucket.grant_read_write(role, f"{VOICES_PREFIX}*")
        self.api_keys.grant_read(role)
        self.admin_key.grant_read(role)
        self.log_group.grant_write(role)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],  # PutMetricData has no resource type; the namespace condition scopes it
                conditions={"StringEquals": {"cloudwatch:namespace": [GPU_NAMESPACE, SERVICE_NAMESPACE]}},
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                # The agent resolves ${aws:AutoScalingGroupName} through DescribeTags; no resource-level support.
                actions=["ec2:DescribeTags", "logs:DescribeLogGroups"],
                resources=["*"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["autoscaling:CompleteLifecycleAction"], resources=[self.asg_arn])
        )
        return role
