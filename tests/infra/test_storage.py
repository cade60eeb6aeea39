"""Buckets: private, encrypted, TLS-only, logged; outputs lifecycle from config; retention by disposability."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from tests.infra.conftest import Synth


def _buckets(template: Template) -> dict[str, dict[str, Any]]:
    return {key: dict(value) for key, value in template.find_resources("AWS::S3::Bucket").items()}


def _outputs(template: Template) -> dict[str, Any]:
    found = template.find_resources(
        "AWS::S3::Bucket",
        {
            "Properties": {
                "LifecycleConfiguration": {"Rules": Match.array_with([Match.object_like({"Prefix": "audio/"})])}
            }
        },
    )
    assert len(found) == 1
    return dict(next(iter(dict(found).values())))


@pytest.mark.parametrize("env", ["dev", "prod", "edge", "front"])
def test_every_bucket_private_encrypted_tls_only(synth: Synth, env: str) -> None:
    template = synth.template(env)
    buckets = _buckets(template)
    assert len(buckets) == 3
    for bucket in buckets.values():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "AES256"
        }
    policies = template.find_resources("AWS::S3::BucketPolicy")
    tls_only = [
        p
        for p in policies.values()
        if any(
            s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}} and s["Effect"] == "Deny"
            for s in p["Properties"]["PolicyDocument"]["Statement"]
        )
    ]
    assert len(tls_only) == 3


def test_outputs_lifecycle_from_config_prod(prod: Template) -> None:
    rules = _outputs(prod)["Properties"]["LifecycleConfiguration"]["Rules"]
    audio = next(r for r in rules if r.get("Prefix") == "audio/")
    assert audio["Transitions"] == [{"StorageClass": "GLACIER_IR", "TransitionInDays": 30}]
    assert audio["ExpirationInDays"] == 365
    multipart = next(r for r in rules if "AbortIncompleteMultipartUpload" in r)
    assert multipart["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}


def test_outputs_lifecycle_from_config_dev(dev: Template) -> None:
    audio = next(
        r for r in _outputs(dev)["Properties"]["LifecycleConfiguration"]["Rules"] if r.get("Prefix") == "audio/"
    )
    assert audio["Transitions"][0]["TransitionInDays"] == 7
    assert audio["ExpirationInDays"] == 30


def test_outputs_and_models_send_access_logs(prod: Template) -> None:
    logged = [b for b in _buckets(prod).values() if "LoggingConfiguration" in b["Properties"]]
    prefixes = sorted(b["Properties"]["LoggingConfiguration"]["LogFilePrefix"] for b in logged)
    assert prefixes == ["s3/models/", "s3/outputs/"]


def test_prod_retains_buckets(prod: Template) -> None:
    for bucket in _buckets(prod).values():
        assert bucket["DeletionPolicy"] == "Retain"
    prod.resource_count_is("Custom::S3AutoDeleteObjects", 0)


def test_disposable_dev_deletes_buckets_with_objects(dev: Template) -> None:
    for bucket in _buckets(dev).values():
        assert bucket["DeletionPolicy"] == "Delete"
    dev.resource_count_is("Custom::S3AutoDeleteObjects", 3)


def test_models_bucket_versioned(prod: Template) -> None:
    versioned = [b for b in _buckets(prod).values() if b["Properties"].get("VersioningConfiguration")]
    assert len(versioned) == 1
    assert versioned[0]["Properties"]["LoggingConfiguration"]["LogFilePrefix"] == "s3/models/"
