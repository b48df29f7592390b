"""Adopting envctl from existing pin files: one pure parser per format, text in,
an `Imported` value out (pins, the Python, what was not carried over).

`requirements` (pip and pip-compile files, `-r` includes), `conda`
(environment.yml), `pyproject` (`[project] dependencies`), `uvlock` (uv.lock),
`image` (what `envctl.probe.image` found in a built image); `model` holds the
shared rules (markers, duplicates, the Python), `routing` the package indexes
and sources met on the way, `conda_names` the conda -> PyPI mapping,
`spec_file` sniffs formats and writes the spec, `replace` keeps what an
`--force` import does not speak to.
"""

from __future__ import annotations

from envctl.spec.imports.conda import parse_conda
from envctl.spec.imports.image import from_reality
from envctl.spec.imports.model import Imported, Note, Options
from envctl.spec.imports.pyproject import parse_pyproject
from envctl.spec.imports.requirements import Reader, parse_requirements
from envctl.spec.imports.spec_file import base_image, default_name, detect_format, spec_text
from envctl.spec.imports.uvlock import parse_uv_lock

__all__ = [
    "Imported",
    "Note",
    "Options",
    "Reader",
    "base_image",
    "default_name",
    "detect_format",
    "from_reality",
    "parse_conda",
    "parse_pyproject",
    "parse_requirements",
    "parse_uv_lock",
    "spec_text",
]
