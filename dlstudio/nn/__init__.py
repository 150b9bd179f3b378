"""Torch modules, small enough to read top to bottom."""
