"""Pipeline stages (one module per dvc.yaml stage) and the pieces they share."""

import os

# TensorFlow's C++ start-up chatter drowns the stage output users read; errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
