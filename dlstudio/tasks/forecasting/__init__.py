"""The forecasting template (``forecasting``): forecast the next values of one or many series.

- ``options.py``: its options and RunSpec model (``SPEC``)
- ``template.py``: the template (``TEMPLATE``): check, train the ensemble, backtest, report
- ``data.py``: a long table to regular series (timeline, gaps, duplicates)
- ``features.py``: scaled values, calendar and covariates cut into windows
- ``model.py``: the trained forecaster as saved and loaded, and its predictor
- ``report.py``: the backtest table, errors per step, verdict and figure
- ``sample.py``: the generated "try a sample" store sales

Nothing is imported here, so that reading a spec (``options``) does not import torch.
"""
