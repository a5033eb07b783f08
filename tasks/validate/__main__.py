"""`python -m tasks.validate`: what dvc.yaml runs."""

from tasks.validate import main

main()
