"""Hardening (issue 21): XSRF and CORS checks on and the upload limit explicit in the server's
config, and no way for a user's string to reach the browser as HTML: nothing in the app asks
Streamlit to render HTML, and hostile names and values show as the text they are."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from dlstudio.data.store import DatasetStore
from dlstudio.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = "<script>alert(1)</script>"
IMAGE = '<img src=x onerror="alert(1)">'


def test_the_server_checks_xsrf_and_cors_and_caps_uploads() -> None:
    server = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]
    assert server["enableXsrfProtection"] is True
    assert server["enableCORS"] is True
    assert server["maxUploadSize"] == Settings.model_fields["max_upload_mb"].default


def test_no_code_asks_streamlit_to_render_html() -> None:
    offenders = []
    for path in [ROOT / "app.py", *ROOT.glob("pages/**/*.py"), *ROOT.glob("dlstudio/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "unsafe_allow_html":
                offenders.append(f"{path.relative_to(ROOT)}:{node.value.lineno} unsafe_allow_html")
            if isinstance(node, ast.Attribute) and node.attr == "html" and (
                isinstance(node.value, ast.Name) and node.value.id in ("st", "components")
            ):  # fmt: skip
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value.id}.html")
    assert offenders == []


def test_hostile_file_column_and_cell_texts_show_as_text_on_the_data_page(
    isolated_home: Path,
) -> None:
    frame = pd.DataFrame({IMAGE: [SCRIPT, "b"] * 20, "label": ["x", "y"] * 20})
    stored = DatasetStore(get_settings().datasets_dir).save(
        "hostile", frame.to_csv(index=False).encode(), filename=f"{IMAGE}.csv"
    )
    assert stored.filename == f"{IMAGE}.csv"  # stored under its own name, shown below
    app = AppTest.from_file(str(ROOT / "pages" / "data.py"), default_timeout=60).run()
    assert not app.exception, app.exception
    texts = " ".join(
        str(getattr(element, "value", ""))
        for kind in ("markdown", "caption", "error", "warning", "info", "success", "text")
        for element in app.get(kind)
    )
    assert not app.get("html")  # no element renders HTML
    catalog = app.dataframe[0].value
    assert f"{IMAGE}.csv" in catalog.astype(str).to_string() or IMAGE in texts
    preview = [d.value for d in app.dataframe if IMAGE in map(str, d.value.columns)]
    assert preview and SCRIPT in preview[0][IMAGE].tolist()  # a cell, shown as its text


def test_a_setting_with_a_bad_value_is_named_in_the_dashboard_and_the_cli(
    isolated_home: Path, monkeypatch, capsys
) -> None:
    from dlstudio.cli.entry import main

    monkeypatch.setenv("DLSTUDIO_SIGN_IN", "yes")
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not app.exception, app.exception
    assert "DLSTUDIO_SIGN_IN='yes': input should be 'off', 'accounts' or 'sso'" in (
        app.error[0].value
    )
    assert main(["jobs", "list"]) == 2
    assert "DLSTUDIO_SIGN_IN='yes'" in capsys.readouterr().err
