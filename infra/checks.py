"""Deployability checks CloudFormation or EC2 would only fail at deploy time; raised at synth, naming the key."""

from __future__ import annotations

from infra.image.pipeline import IMAGE_ROOT_GIB
from voicefleet_config import ConfigError, EnvironmentConfig
from voicefleet_config.cdn import CLOUDFRONT_CERT_REGION

# Instance families the Deep Learning Base GPU AMI (Ubuntu 24.04) lists under supported_ec2_instances
# (DLAMI release notes, 2026-07: G4dn, G5, G6, Gr6, G6e, G7, P4d, P4de, P5, P5e, P5en, P6). P3 is not listed.
AMI_FAMILIES = frozenset({"g4dn", "g5", "g6", "gr6", "g6e", "g7", "p4d", "p4de", "p5", "p5e", "p5en"})


def check_deployable(config: EnvironmentConfig) -> None:
    """Raise ConfigError ("environment 'x': key: message") for a config this stack cannot deploy."""
    fleet = config.fleet
    for name in fleet.instance_types:
        family = name.split(".", 1)[0]
        if family not in AMI_FAMILIES:
            raise ConfigError(
                f"environment '{config.name}': fleet.instance_types: '{name}' is not supported by the Deep Learning "
                f"Base GPU AMI (Ubuntu 24.04); use one of the families {', '.join(sorted(AMI_FAMILIES))}"
            )
    if fleet.warm_pool and fleet.on_demand_percentage_above_base != 100:
        raise ConfigError(
            f"environment '{config.name}': fleet.warm_pool: a warm pool cannot hold Spot instances or mixed instance "
            "types (EC2 Auto Scaling PutWarmPool); set fleet.on_demand_percentage_above_base to 100 or warm_pool false"
        )
    if config.network.max_azs > 2 and config.account is None:
        raise ConfigError(
            f"environment '{config.name}': network.max_azs: {config.network.max_azs} AZs need `account` set; a stack "
            "without an account sees only 2 AZs at synth time (set account, or max_azs 2)"
        )
    if fleet.warm_pool and fleet.desired_capacity == 0:
        raise ConfigError(
            f"environment '{config.name}': fleet.warm_pool: the warm pool is sized from fleet.desired_capacity, "
            "which is 0"
        )
    if fleet.root_volume_gib < IMAGE_ROOT_GIB:
        raise ConfigError(
            f"environment '{config.name}': fleet.root_volume_gib: {fleet.root_volume_gib} GiB is smaller than the "
            f"image's root volume ({IMAGE_ROOT_GIB} GiB, infra/image/pipeline.py); use at least {IMAGE_ROOT_GIB}"
        )
    _check_edge_region(config)


def _check_edge_region(config: EnvironmentConfig) -> None:
    """CloudFront takes certificates and web ACLs from us-east-1 only; this stack creates them in its own region."""
    cdn, region = config.cdn, config.region
    if region == CLOUDFRONT_CERT_REGION:
        return
    if cdn.domain_name and not cdn.certificate_arn:
        raise ConfigError(
            f"environment '{config.name}': cdn.certificate_arn: a CloudFront certificate must be in us-east-1 and "
            f"this stack deploys to {region}; create one in us-east-1 and give its ARN (or deploy in us-east-1)"
        )
    if cdn.waf.enabled:
        raise ConfigError(
            f"environment '{config.name}': cdn.waf.enabled: a CloudFront web ACL must be created in us-east-1 "
            f"(AWS WAF scope CLOUDFRONT) and this stack deploys to {region}; deploy in us-east-1 or disable it"
        )
