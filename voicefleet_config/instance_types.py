"""The GPU instance types an environment may run on: cdk.json's `fleet.instance_types` is validated against these.

One list for every part: the config refuses any other type, the price catalog (cost/catalog/data/instances.json) has
an entry for each (tests/cost/test_catalog_throughput.py), and `python -m cost.catalog.refresh` fetches exactly these.
Adding a type means adding it here and its specs and prices to the catalog (the refresh command fills the prices).
"""

from __future__ import annotations

# Single-GPU types with at least 16 GiB of GPU memory (CosyVoice3 needs >= 8 GB to run stably; see cost/catalog).
INSTANCE_TYPES: tuple[str, ...] = (
    "g4dn.2xlarge",
    "g4dn.xlarge",
    "g5.2xlarge",
    "g5.xlarge",
    "g6.2xlarge",
    "g6.xlarge",
    "g6e.xlarge",
    "p3.2xlarge",
)

# The GPU of each type (EC2 DescribeInstanceTypes; the catalog's `gpu` field, which a test keeps in step): the service
# time profile (voicefleet_config/capacity.py) is per GPU, so infra can size the service without the price catalog.
INSTANCE_GPUS: dict[str, str] = {
    "g4dn.2xlarge": "T4",
    "g4dn.xlarge": "T4",
    "g5.2xlarge": "A10G",
    "g5.xlarge": "A10G",
    "g6.2xlarge": "L4",
    "g6.xlarge": "L4",
    "g6e.xlarge": "L40S",
    "p3.2xlarge": "V100",
}
