"""Benchmarks: each prints its ratio against a bare baseline (`make bench`)."""
