"""The image template (``image_classification``): sort images into classes from a ZIP or folder
of class folders.

- ``options.py``: its options and RunSpec model (``SPEC``)
- ``template.py``: the template (``TEMPLATE``): check, train the CNN, the pixel baseline, the
  predictor
- ``model.py``: the trained CNN as loaded: the predictor behind the pyfunc
- ``report.py``: the most confident mistakes, as a table and a contact sheet
- ``sample.py``: the generated "try a sample" ZIP of shapes

Nothing is imported here, so that reading a spec (``options``) does not import torch.
"""
