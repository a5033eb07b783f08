"""The pipeline's stages and the packages they share.

One package per dvc.yaml stage (ingest, validate, prepare, train, evaluate), each run as
`python -m tasks.<stage>`, and shared packages: common (params, errors, io, signature), data (raw
data), model (Keras) and registry (read-only). dvc.yaml lists each stage's folders as its deps.
"""

import os

# TensorFlow's C++ start-up chatter drowns the stage output users read; errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
