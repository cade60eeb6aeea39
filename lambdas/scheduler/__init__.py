"""Business-hours start/stop of the GPU Auto Scaling groups, invoked by EventBridge Scheduler."""
