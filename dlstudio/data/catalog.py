"""The stored datasets as one table for the dashboard: every version with its kind, rows and size."""

from __future__ import annotations

import pandas as pd

from dlstudio.data.images import is_image_source
from dlstudio.data.store import DatasetStore
from dlstudio.data.table_checks import MB

CATALOG_COLUMNS = ("name", "version", "file", "kind", "rows", "columns", "size_mb", "saved")


def catalog_frame(store: DatasetStore) -> pd.DataFrame:
    """One row per stored version, by name, newest version first. For a ZIP of images (kind
    "images") rows counts the images and columns the classes; both are blank for versions
    stored before their shape was recorded."""
    rows = [
        {
            "name": version.name,
            "version": version.version,
            "file": version.filename,
            "kind": "images" if is_image_source(version.path) else "table",
            "rows": version.n_rows,
            "columns": version.n_columns,
            "size_mb": round(version.size_bytes / MB, 2),
            "saved": version.created_at.strftime("%Y-%m-%d %H:%M"),
        }
        for name in store.list_names()
        for version in store.versions(name)
    ]
    frame = pd.DataFrame(rows, columns=list(CATALOG_COLUMNS))
    return frame.astype({"rows": "Int64", "columns": "Int64"})
