"""Shared by every stage: params (the only reader of params.yaml), errors with exit codes,
atomic writes, and the model signature."""
