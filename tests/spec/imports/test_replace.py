"""import --force: top-level blocks of a spec, and what a replacement keeps."""

from __future__ import annotations

from envctl.spec.imports.replace import blocks, replace_spec

OLD = """\
# head comment
name: dev
version: 2
packages:
  numpy: "==1"
# about data
data:
  allowed: [public]
gates:
  - tests: {}
"""


def test_blocks_attach_comments_to_the_key_below() -> None:
    assert [key for key, _ in blocks(OLD)] == ["name", "version", "packages", "data", "gates"]
    assert dict(blocks(OLD))["data"] == "# about data\ndata:\n  allowed: [public]\n"
    assert "".join(body for _, body in blocks(OLD)) == OLD


def test_replace_keeps_unspoken_sections_verbatim() -> None:
    new = 'name: dev\nversion: 3\npython: "3.11"\npackages:\n  six: "==1"\n'
    replaced = replace_spec(new, OLD, python_changed=False)
    assert replaced.kept == ("data", "gates")
    assert replaced.dropped == ()
    assert replaced.text == (
        'name: dev\nversion: 3\npython: "3.11"\npackages:\n  six: "==1"\n'
        "# about data\ndata:\n  allowed: [public]\ngates:\n  - tests: {}\n"
    )
