"""Budgeted hyperparameter search (issue 19): a search space beside each template's options, an
Optuna study whose trials are child runs of one MLflow parent run."""
