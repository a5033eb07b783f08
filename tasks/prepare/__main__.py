"""`python -m tasks.prepare`: what dvc.yaml runs."""

from tasks.prepare import main

main()
