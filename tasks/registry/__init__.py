"""The registry, read-only: versions, stages, the champion and its files (validate, evaluate).

Writing it (registration, promotion, publishing) is the flow's business: `flows.registry`.
"""
