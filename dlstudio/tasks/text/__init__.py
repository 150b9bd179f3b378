"""The text template (``text_sentiment``): label short texts by sentiment or any set of classes.

- ``options.py``: its options and RunSpec model (``SPEC``)
- ``template.py``: the template (``TEMPLATE``): check, train, the TF-IDF baseline, the predictor
- ``encoding.py``: the tokenizer, vocabulary and n-gram hashing (saved as JSON)
- ``sample.py``: the generated "try a sample" product reviews

Nothing is imported here, so that reading a spec (``options``) does not import torch.
"""
