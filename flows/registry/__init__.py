"""Writing the registry: registration with lineage, stage assignments, git plumbing."""
