"""`python -m tasks.evaluate`: what dvc.yaml runs."""

from tasks.evaluate import main

main()
