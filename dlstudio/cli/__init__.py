"""The ``dlstudio`` command line: one module per command group, the RunSpec flags in one.

``entry`` builds the parser from the groups (``train``, ``data``, ``jobs``, ``models``,
``schedules``, ``ui``) and runs a command; every group builds its RunSpec with ``spec_args``.
Importing this package stays cheap (no torch, MLflow, Streamlit or Ray): each command imports
what it needs when it runs.
"""

from dlstudio.cli.entry import main

__all__ = ["main"]
