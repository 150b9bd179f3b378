"""Why a model predicts what it does (issue 20): permutation importance over the test rows and
per-row reason codes for table models, written once against the predictor's raw-row contract
(a table in, a ``prediction`` table out), so every table template explains the same way."""
