"""Serving a registered model: TF Serving's folder layout, and an HTTP endpoint that follows
a stage (`trainflow models serve`)."""
