"""Benchmarks that print ratios against a bare baseline measured in the same run.

`python -m bench` (`make bench`) discovers every module here with a `main()`; see
bench/__main__.py for how results are collected and bench/common.py for the shared pieces.
"""
