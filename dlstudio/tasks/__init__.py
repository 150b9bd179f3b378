"""Task templates: one package each (``tabular/``, ``forecasting/``, ``text/``, ``images/``),
registered by name in ``registry.py``. What several templates share lies here, one floor below
them: the template contract (``base.py``) and the parts of every classifier
(``classification.py``, ``classification_checks.py``). Nothing else branches on task names.
"""

from dlstudio.tasks.registry import get_template, task_names

__all__ = ["get_template", "task_names"]
