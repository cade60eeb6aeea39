"""What runs on a GPU instance around the service: the boot (settings, secrets, weights, start), the launch gate
that completes the Auto Scaling launch hook only once the service answers and synthesizes, and the drain watcher.

Installed in the image's venv with the rest of the project (console script `voicefleet-instance`); boto3, httpx
and pydantic only, all in the instance runtime lock.
"""
