"""The bad-input corpus: every invalid spec exits 3 with file, line and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from envctl.errors import SpecError
from envctl.spec.loading import load_environment

GOOD = """\
name: {name}
version: 1
image:
  base: python:3.11-slim
python: "3.11"
packages:
  numpy: "==1.26.4"
"""

P = GOOD.format(name="prod")

BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)
BOMB = "name: prod\nversion: 1\n" + BOMB

# id, file content, expected fragments of the first/any problem line
CORPUS: list[tuple[str, bytes, list[str]]] = [
    ("empty", b"", ["prod.yaml", "empty"]),
    ("only-comment", b"# nothing\n", ["empty"]),
    ("list-document", b"- a\n- b\n", ["prod.yaml:1:1", "not a mapping"]),
    ("scalar-document", b"hello\n", ["not a mapping"]),
    ("syntax-error", b"name: prod\nversion: [1\n", ["prod.yaml:", "YAML syntax error"]),
    ("tab-indent", b"name: prod\nimage:\n\tbase: x\n", ["YAML syntax error"]),
    (
        "duplicate-top",
        (P + "version: 2\n").encode(),
        ["prod.yaml:8:1", "version", "duplicate key 'version'", "first defined on line 2"],
    ),
    (
        "duplicate-nested",
        (P + '  numpy: "==2.0"\n').encode(),
        ["prod.yaml:8:3", "packages.numpy", "duplicate key"],
    ),
    (
        "unknown-key-typo",
        (P + "pakages: {}\n").encode(),
        ["prod.yaml:8:1", "unknown key 'pakages'", "did you mean 'packages'?"],
    ),
    (
        "unknown-nested-key",
        P.replace("  base:", "  bse: x\n  base:").encode(),
        ["image.bse", "did you mean 'base'?"],
    ),
    (
        "python-float",
        P.replace('"3.11"', "3.10").encode(),
        ["prod.yaml:5:1", "python", "number 3.1", "quote it"],
    ),
    ("python-garbage", P.replace('"3.11"', '"three"').encode(), ["python", "not a Python version"]),
    (
        "missing-required",
        b"name: prod\nversion: 1\n",
        ["required key 'image' is missing", "required key 'python' is missing"],
    ),
    ("version-zero", P.replace("version: 1", "version: 0").encode(), ["version"]),
    (
        "version-string",
        P.replace("version: 1", 'version: "1.0"').encode(),
        ["prod.yaml:2:1: version: the version must be a whole number", "the string '1.0'"],
    ),
    (
        "version-quoted-int",
        P.replace("version: 1", "version: '1'").encode(),
        ["prod.yaml:2:1", "without quotes", "the string '1'"],
    ),
    (
        "version-float",
        P.replace("version: 1", "version: 1.5").encode(),
        ["prod.yaml:2:1", "whole number", "the number 1.5"],
    ),
    ("version-float-whole", P.replace("version: 1", "version: 1.0").encode(), ["the number 1.0"]),
    ("name-mismatch", GOOD.format(name="prd").encode(), ["name 'prd' does not match", "prod.yaml"]),
    (
        "package-name-injection",
        (P + '  "numpy\\nRUN curl x": "==1"\n').encode(),
        ["not a valid package name"],
    ),
    ("package-name-space", (P + '  "num py": "==1"\n').encode(), ["not a valid package name"]),
    (
        "specifier-injection",
        (P + '  pandas: "==2.0; rm -rf /"\n').encode(),
        ["packages.pandas", "not a PEP 440 version specifier"],
    ),
    ("specifier-bare-version", (P + '  pandas: "2.2.2"\n').encode(), ['did you mean "==2.2.2"?']),
    ("specifier-number", (P + "  pandas: 2.2\n").encode(), ["quoted specifier", '"==2.2"']),
    (
        "same-package-two-spellings",
        (P + '  NumPy: "==1.26.4"\n').encode(),
        ["same package (numpy)"],
    ),
    (
        "image-injection",
        P.replace("python:3.11-slim", '"python:3.11\\nRUN rm -rf /"').encode(),
        ["image.base", "not an image reference"],
    ),
    (
        "image-shell",
        P.replace("python:3.11-slim", '"x; curl y"').encode(),
        ["not an image reference"],
    ),
    (
        "platform-not-lockable",
        P.replace("slim\n", "slim\n  platform: linux/arm/v7\n").encode(),
        ["prod.yaml:5:", "image.platform", "'linux/arm/v7'", "use one of linux/amd64, linux/arm64"],
    ),
    (
        "system-package-injection",
        (P + 'system_packages: ["curl && rm -rf /"]\n').encode(),
        ["system_packages[0]", "not a Debian package name"],
    ),
    (
        "system-package-newline",
        (P + 'system_packages: ["curl\\nRUN x"]\n').encode(),
        ["not a Debian package name"],
    ),
    ("env-newline", (P + 'env: {A: "x\\nRUN y"}\n').encode(), ["newlines"]),
    ("env-bad-key", (P + 'env: {"A B": x}\n').encode(), ["not an environment variable name"]),
    (
        "memory-garbage",
        (P + "compute: {memory: lots}\n").encode(),
        ["compute.memory", "not a memory quantity"],
    ),
    (
        "memory-bytes-suffix",
        (P + "compute: {memory: 4GB}\n").encode(),
        ["prod.yaml:8:11", "compute.memory", "'4GB'", 'did you mean "4Gi" or "4G"?'],
    ),
    ("memory-upper-k", (P + "compute: {memory: 4K}\n").encode(), ['"4k"']),
    ("memory-milli", (P + "compute: {memory: 512m}\n").encode(), ["not a whole number of bytes"]),
    (
        "gate-two-kinds",
        (P + "gates:\n  - {tests: {}, approvals: {required: 1}}\n").encode(),
        ["gates[0]", "exactly one"],
    ),
    (
        "gate-bad-threshold",
        (P + "gates:\n  - metrics: {file: m.json, require: {acc: high}}\n").encode(),
        ["not a threshold"],
    ),
    (
        "http-path-host",
        (P + 'gates:\n  - http: {path: "@169.254.169.254/latest/meta-data"}\n').encode(),
        ["prod.yaml:9:12", "gates[0].http.path", "is not an absolute URL path like '/predict'"],
    ),
    (
        "http-path-dotdot",
        (P + "gates:\n  - http: {path: /a/%2e%2e/admin}\n").encode(),
        ["gates[0].http.path", "may not contain '..' segments"],
    ),
    (
        "gate-path-escape",
        (P + "gates:\n  - tests: {paths: [../../etc]}\n").encode(),
        ["without '..'"],
    ),
    (
        "unsafe-tag-python",
        b'name: !!python/object/apply:os.system ["touch /tmp/pwned"]\n',
        ["prod.yaml:1:7", "not allowed"],
    ),
    ("unsafe-tag-custom", (P + "x: !Ref foo\n").encode(), ["not allowed"]),
    ("alias-bomb", BOMB.encode(), ["alias bomb"]),
    ("deep-nesting", b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n", ["nesting"]),
    (
        "deep-mapping",
        (
            "name: prod\n"
            + "".join("  " * i + f"k{i}:\n" for i in range(60))
            + "  " * 60
            + "v: 1\n"
        ).encode(),
        ["deeper than"],
    ),
    ("binary", b"\x7fELF\x02\x01\x01\x00\x00\x00", ["binary file"]),
    ("latin-1", "name: prod\ndescription: caf\xe9\n".encode("latin-1"), ["not valid UTF-8"]),
    ("two-documents", P.encode() + b"---\nname: x\n", ["more than one YAML document"]),
    ("extends-missing", (P + "extends: nowhere\n").encode(), ["nowhere.yaml", "not found"]),
    (
        "extends-outside",
        (P + "extends: ../../../etc/passwd.yaml\n").encode(),
        ["outside the project"],
    ),
]


@pytest.mark.parametrize(
    ("content", "fragments"), [(c, f) for _, c, f in CORPUS], ids=[i for i, _, _ in CORPUS]
)
def test_invalid_spec_reports_every_fragment(
    tmp_path: Path, content: bytes, fragments: list[str]
) -> None:
    spec = tmp_path / "environments" / "prod.yaml"
    spec.parent.mkdir()
    spec.write_bytes(content)
    with pytest.raises(SpecError) as info:
        load_environment(str(spec))
    assert info.value.exit_code == 3
    text = "\n".join(info.value.details or (info.value.message,))
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in:\n{text}"
    assert "Traceback" not in text
    assert "\n" not in info.value.message


def test_unsafe_tag_never_executes(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    spec = tmp_path / "prod.yaml"
    spec.write_text(f'name: !!python/object/apply:os.system ["touch {marker}"]\n')
    with pytest.raises(SpecError):
        load_environment(str(spec))
    assert not marker.exists()


def test_all_errors_reported_at_once(tmp_path: Path) -> None:
    spec = tmp_path / "prod.yaml"
    spec.write_text(
        'name: prod\nversion: 1\nimage: {base: "a b"}\npython: 3.10\n'
        "pakages: {}\ncompute: {memory: lots}\n"
    )
    with pytest.raises(SpecError) as info:
        load_environment(str(spec))
    details = info.value.details
    assert len(details) == 4
    assert [d.split(":")[1] for d in details] == ["3", "4", "5", "6"]
    assert "(4 problems)" in info.value.message


VALID: list[tuple[str, bytes]] = [
    ("crlf", P.replace("\n", "\r\n").encode()),
    ("bom", b"\xef\xbb\xbf" + P.encode()),
    ("bom-crlf", b"\xef\xbb\xbf" + P.replace("\n", "\r\n").encode()),
    ("merge-key", (P + "env:\n  <<: {A: '1'}\n  B: '2'\n").encode()),
    ("empty-packages", P.replace('  numpy: "==1.26.4"\n', "").encode()),
]


@pytest.mark.parametrize("content", [c for _, c in VALID], ids=[i for i, _ in VALID])
def test_valid_variants_load(tmp_path: Path, content: bytes) -> None:
    spec = tmp_path / "prod.yaml"
    spec.write_bytes(content)
    env = load_environment(str(spec))
    assert env.spec.name == "prod"
    assert env.spec.python == "3.11"
