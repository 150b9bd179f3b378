"""The tabular regression template (``tabular_regression``): predict a number from the other
columns of a table. It shares the tabular classification template's features, networks and
classical models (``dlstudio.tasks.tabular``).

- ``options.py``: its options and RunSpec model (``SPEC``)
- ``template.py``: the template (``TEMPLATE``): split, target scaling, train, ensemble, predictor
- ``checks.py``: plain-language checks of the table before training
- ``sample.py``: the generated "try a sample" house-prices table

Nothing is imported here, so that reading a spec (``options``) does not import torch.
"""
