"""The per-environment stack: composes one construct per concern."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from infra.acknowledgements import acknowledge
from infra.budget import ENV_TAG_KEY, Budget, BudgetLimit
from infra.cdn import Cdn
from infra.checkov_acks import acknowledge_checkov
from infra.checks import check_deployable
from infra.fleet.construct import Fleet, image_parameter
from infra.image.acknowledgements import acknowledge_weights
from infra.image.stack import ImageStack
from infra.image.weights import WeightsImage
from infra.load_balancer import LoadBalancer
from infra.monitoring import Alerts, Monitoring
from infra.network import Network
from infra.schedule import Schedule
from infra.spot import SpotEvents
from infra.storage import Storage
from infra.waf import EdgeFirewall
from voicefleet_config import EnvironmentConfig


class VoiceFleetStack(cdk.Stack):
    """Everything one environment needs: network, storage, CDN, fleet, schedules, Spot handling, monitoring."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, budget: BudgetLimit, **kwargs: Any
    ) -> None:
        check_deployable(config)
        super().__init__(
            scope,
            construct_id,
            env=cdk.Environment(account=config.account, region=config.region),
            description=f"voicefleet {config.name}: CosyVoice3 TTS on Spot GPUs",
            termination_protection=not config.disposable,
            **kwargs,
        )
        self.config = config
        self.image_stack: ImageStack | None = None  # set by build_app: the region's runtime image
        cdk.Tags.of(self).add(ENV_TAG_KEY, config.name)

        self.network = Network(self, "Network", config=config.network, retain=not config.disposable)
        self.storage = Storage(self, "Storage", config=config.storage, disposable=config.disposable)
        self.load_balancer = LoadBalancer(
            self,
            "LoadBalancer",
            config=config,
            vpc=self.network.vpc,
            subnets=self.network.load_balancer_subnets,
            logs_bucket=self.storage.logs_bucket,
        )
        self.firewall = (
            EdgeFirewall(self, "Firewall", config=config.cdn.waf, env_name=config.name)
            if config.cdn.waf.enabled
            else None
        )
        self.cdn = Cdn(
            self,
            "Cdn",
            config=config.cdn,
            service=config.service,
            outputs_bucket=self.storage.outputs_bucket,
            logs_bucket=self.storage.logs_bucket,
            alb=self.load_balancer.alb,
            web_acl_arn=self.firewall.arn if self.firewall else None,
        )
        self.load_balancer.admit_cloudfront(self.cdn.distribution)
        self.fleet = Fleet(
            self,
            "Fleet",
            config=config,
            vpc=self.network.vpc,
            subnets=self.network.instance_subnets,
            alb_security_group=self.load_balancer.security_group,
            target_group=self.load_balancer.target_group,
            models_bucket=self.storage.models_bucket,
            outputs_bucket=self.storage.outputs_bucket,
            cdn_domain=self.cdn.domain_name,
        )
        self.weights_image = (
            WeightsImage(self, "WeightsImage", config=config, models_bucket=self.storage.models_bucket)
            if config.image.weights == "baked"
            else None
        )
        self.alerts = Alerts(self, "Alerts", config=config.alerting, env_name=config.name)
        self.schedule = Schedule(
            self,
            "Schedule",
            config=config,
            asg=self.fleet.asg,
            asg_name=self.fleet.asg_name,
            asg_arn=self.fleet.asg_arn,
        )
        self.spot = SpotEvents(
            self,
            "Spot",
            config=config,
            asg_name=self.fleet.asg_name,
            asg_arn=self.fleet.asg_arn,
            topic=self.alerts.topic,
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            env_name=config.name,
            topic=self.alerts.topic,
            alb=self.load_balancer.alb,
            target_group=self.load_balancer.target_group,
            asg_name=self.fleet.asg_name,
            scheduler_function=self.schedule.function,
            schedule_dead_letters=self.schedule.dead_letters,
            boot_minutes=config.fleet.boot_minutes,
            spot_dead_letters=self.spot.dead_letters,
        )
        self.budget = Budget(
            self, "Budget", config=config.alerting, env_name=config.name, limit_usd=budget.usd, topic=self.alerts.topic
        )
        cdk.CfnOutput(self, "ApiUrl", value=f"https://{self.cdn.domain_name}")
        cdk.CfnOutput(self, "ModelsBucket", value=self.storage.models_bucket.bucket_name)
        cdk.CfnOutput(self, "OutputsBucket", value=self.storage.outputs_bucket.bucket_name)
        cdk.CfnOutput(self, "AutoScalingGroup", value=self.fleet.asg_name)
        cdk.CfnOutput(self, "ApiKeysSecret", value=self.fleet.api_keys.secret_arn)
        cdk.CfnOutput(self, "ImageParameter", value=image_parameter(config))
        if self.weights_image is not None:
            # `voicefleet-models push --env NAME` starts it after uploading a model.
            cdk.CfnOutput(self, "WeightsImagePipeline", value=self.weights_image.image.pipeline.attr_arn)
        cdk.CfnOutput(
            self,
            "BudgetLimitSource",
            value=budget.detail,
            description=f"Where the monthly budget's limit ({budget.usd:g} USD) came from: {budget.source}",
        )
        acknowledge(self, config, asg_name=self.fleet.asg_name)
        if self.weights_image is not None:
            acknowledge_weights(self, model_prefix=config.service.model_prefix)
        acknowledge_checkov(self, config)
