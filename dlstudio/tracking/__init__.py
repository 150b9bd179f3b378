"""MLflow: where runs go, how they are logged, the pyfunc model and the registry."""
