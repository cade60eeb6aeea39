"""HTTP routes, one module per resource; errors are mapped to HTTP in errors.py only."""
