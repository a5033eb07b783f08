"""Prefect flows and the `trainflow` command line."""
