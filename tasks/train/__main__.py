"""`python -m tasks.train`: what dvc.yaml runs."""

from tasks.train import main

main()
