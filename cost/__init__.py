"""Cost model: price catalog, workload and schedule models, estimator and the cost-estimate CLI."""
