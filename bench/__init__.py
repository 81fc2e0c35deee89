"""Measurements beyond the tests: `make bench` (bench/run.py) and the several-machines check."""
