"""Spot interruption warnings and rebalance recommendations for the GPU Auto Scaling groups."""
