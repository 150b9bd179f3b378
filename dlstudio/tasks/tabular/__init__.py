"""The tabular classification template (``tabular_classification``): predict a category from the
other columns of a table.

- ``options.py``: its options and RunSpec model (``SPEC``)
- ``template.py``: the template (``TEMPLATE``): split, train the MLP, the baselines, the predictor
- ``checks.py``: plain-language checks of the table before training
- ``features.py``: columns to model inputs, fitted on the training split, saved as JSON
- ``sample.py``: the generated "try a sample" churn table

Nothing is imported here, so that reading a spec (``options``) does not import torch.
"""
