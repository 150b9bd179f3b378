"""dlstudio: no-code deep learning for tables, time series, text and images."""

__version__ = "0.1.0"
