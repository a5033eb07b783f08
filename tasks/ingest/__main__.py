"""`python -m tasks.ingest`: what dvc.yaml runs."""

from tasks.ingest import main

main()
