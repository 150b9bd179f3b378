"""Metrics, baselines and the plain-language verdict."""
