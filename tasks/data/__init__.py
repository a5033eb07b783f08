"""Raw data: its layout, image decoding, what one sample is (manifests, hashes), drift statistics.

Ingest, validate and prepare share it; the model side (train, evaluate) does not import it.
"""
