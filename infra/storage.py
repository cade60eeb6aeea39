"""S3: the outputs bucket (audio + voice prompts, lifecycle to Glacier), the models bucket, and the logs bucket."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.names import OUTPUTS_PREFIX, VOICES_PREFIX
from voicefleet_config import StorageConfig

__all__ = ["OUTPUTS_PREFIX", "VOICES_PREFIX", "Storage"]

_GLACIER: dict[str, s3.StorageClass] = {
    "GLACIER_IR": s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
    "GLACIER": s3.StorageClass.GLACIER,
    "DEEP_ARCHIVE": s3.StorageClass.DEEP_ARCHIVE,
}


class Storage(Construct):
    """Three private, encrypted, TLS-only buckets. `disposable` environments are deleted with the stack."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StorageConfig, disposable: bool) -> None:
        super().__init__(scope, construct_id)
        removal = cdk.RemovalPolicy.DESTROY if disposable else cdk.RemovalPolicy.RETAIN
        common = {
            "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
            "encryption": s3.BucketEncryption.S3_MANAGED,
            "enforce_ssl": True,
            "removal_policy": removal,
            "auto_delete_objects": disposable,
        }
        # Server access logs of the other two buckets, CloudFront and ALB access logs. CloudFront's standard logs
        # are written with ACLs, hence BUCKET_OWNER_PREFERRED; ALB logs need SSE-S3 (not KMS).
        self.logs_bucket = s3.Bucket(
            self,
            "Logs",
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-logs",
                    expiration=cdk.Duration.days(90),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                )
            ],
            **common,  # type: ignore[arg-type]
        )
        self.outputs_bucket = s3.Bucket(
            self,
            "Outputs",
            server_access_logs_bucket=self.logs_bucket,
            server_access_logs_prefix="s3/outputs/",
            lifecycle_rules=self._output_rules(config),
            **common,  # type: ignore[arg-type]
        )
        self.models_bucket = s3.Bucket(
            self,
            "Models",
            # Weights are replaced rarely and must be recoverable if an upload goes wrong.
            versioned=True,
            server_access_logs_bucket=self.logs_bucket,
            server_access_logs_prefix="s3/models/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="old-weights",
                    noncurrent_version_expiration=cdk.Duration.days(30),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(7),
                )
            ],
            **common,  # type: ignore[arg-type]
        )

    @staticmethod
    def _output_rules(config: StorageConfig) -> list[s3.LifecycleRule]:
        """Audio ages into the configured Glacier class, then expires; voice prompts under voices/ never expire."""
        audio = s3.LifecycleRule(
            id="audio-to-glacier-then-expire",
            prefix=OUTPUTS_PREFIX,
            transitions=[
                s3.Transition(
                    storage_class=_GLACIER[config.glacier_class],
                    transition_after=cdk.Duration.days(config.glacier_after_days),
                )
            ],
            expiration=cdk.Duration.days(config.expire_after_days) if config.expire_after_days else None,
        )
        multipart = s3.LifecycleRule(
            id="abort-incomplete-multipart", abort_incomplete_multipart_upload_after=cdk.Duration.days(7)
        )
        return [audio, multipart]
