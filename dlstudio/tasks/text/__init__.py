"""The text template (``text_sentiment``): label short texts by sentiment or any set of classes.

- ``options.py``: its options and RunSpec model (``SPEC``)
- ``template.py``: the template (``TEMPLATE``) and its presets: check, then train one family
- ``backbones.py``: the ``backbone`` option resolved (MiniLM, none, a Hugging Face model), checked
- ``checks.py``: the text column found and checked; long texts counted
- ``fitting.py``: what every family shares: the job, its result, one fit with early stopping
- ``model.py``: the networks trained here: from scratch, or heads over all-MiniLM-L6-v2
- ``hub.py``: a Hugging Face model fine-tuned whole
- ``inputs.py``: texts -> the tensors each network reads (MiniLM runs once per text)
- ``predictor.py``: a saved model loaded from its folder alone
- ``evaluate.py``: the TF-IDF + logistic regression baseline and the list of mistakes
- ``encoding.py``: the tokenizer, vocabulary and n-gram hashing of the scratch networks (JSON)
- ``sample.py``: the generated "try a sample" product reviews

Nothing is imported here, so that reading a spec (``options``) does not import torch.
"""
