"""pyproject.toml declares what requirements*.txt pin: `pip install .` alone gives a working
command line, with the same lower bounds as the tested set (torch exact, as there)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENT = re.compile(r"^([A-Za-z0-9_.-]+)\s*(==|>=)\s*([^\s,#;]+)(,<[^\s#;]+)?")


def requirements(name: str) -> dict[str, tuple[str, str, str]]:
    """Package (lower case) -> (operator, version, upper bound) of one requirements file."""
    found = {}
    for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
        match = REQUIREMENT.match(line.strip())
        if match:
            found[match.group(1).lower()] = (match.group(2), match.group(3), match.group(4) or "")
    return found


def declared(specifiers: list[str]) -> dict[str, tuple[str, str, str]]:
    return {
        match.group(1).lower(): (match.group(2), match.group(3), match.group(4) or "")
        for match in map(REQUIREMENT.match, specifiers)
        if match
    }


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_the_runtime_dependencies_are_those_of_requirements_txt_with_their_lower_bounds() -> None:
    pinned = requirements("requirements.txt")
    dependencies = project()["dependencies"]

    assert len(declared(dependencies)) == len(dependencies)  # every entry parsed
    expected = {
        name: ("==", version, upper) if name == "torch" else (">=", version, upper)
        for name, (_, version, upper) in pinned.items()
    }
    assert declared(dependencies) == expected


def test_the_extras_are_those_of_requirements_ray_and_dev() -> None:
    extras = project()["optional-dependencies"]

    assert declared(extras["ray"]) == requirements("requirements-ray.txt")
    assert declared(extras["dev"]) == requirements("requirements-dev.txt")


def test_the_console_script_is_the_cli_package() -> None:
    assert project()["scripts"] == {"dlstudio": "dlstudio.cli:main"}
