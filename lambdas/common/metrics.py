"""One CloudWatch count per decision, in the "VoiceFleet" namespace."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.common.jsonlog import log

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient


def put_count(
    cloudwatch: CloudWatchClient,
    *,
    namespace: str,
    name: str,
    dimensions: Mapping[str, str],
    when: dt.datetime,
    logger: logging.Logger,
) -> bool:
    """Record 1 of `name`; returns False (and logs) when CloudWatch refuses it.

    A metric is observability, not the action: once the fleet has been changed, failing the invocation because
    PutMetricData failed would only make the scheduler retry work that is already done. The client's own retries
    (standard mode) have already absorbed throttling by the time this gives up.
    """
    try:
        cloudwatch.put_metric_data(
            Namespace=namespace,
            MetricData=[
                {
                    "MetricName": name,
                    "Dimensions": [{"Name": key, "Value": value} for key, value in dimensions.items()],
                    "Timestamp": when,
                    "Value": 1.0,
                    "Unit": "Count",
                }
            ],
        )
    except (ClientError, BotoCoreError) as exc:
        log(
            logger,
            "metric not recorded",
            level=logging.ERROR,
            metric=name,
            dimensions=dict(dimensions),
            error=str(exc),
        )
        return False
    return True
