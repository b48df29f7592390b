"""The SBOM as SPDX 2.3 JSON: valid by spdx-tools' own parser and validator, the
same content as the CycloneDX document, and the same bytes for the same image."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from envctl.supply import sbom
from envctl.supply.components import debian_components, dpkg_packages, python_components
from envctl.supply.spdx import package_id
from tests.supply.test_components import STATUS

HASH = "a" * 64


def image_sbom(image: str = "envctl/model-churn:v1.0.0-0123456789ab") -> sbom.ImageSbom:
    components = python_components(
        {"numpy": "1.26.4", "six": "1.16.0"}, {"six==1.16.0": (HASH, "b" * 64)}
    )
    components += debian_components(dpkg_packages(STATUS), "Debian:12")
    return sbom.ImageSbom(
        image=image,
        image_id="sha256:" + "1" * 64,
        base="python:3.11-slim-bookworm",
        python="3.11.9",
        platform="linux/amd64",
        os="Debian GNU/Linux 12 (bookworm)",
        components=tuple(components),
        hashes_from_lock=True,
    )


def spdx(made: sbom.ImageSbom) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(sbom.document(made, "spdx-json"))
    return data


def test_spdx_is_valid_by_spdx_tools_own_parser_and_validator(tmp_path: Any) -> None:
    path = tmp_path / "image.spdx.json"
    path.write_text(sbom.document(image_sbom(), "spdx-json"))
    parsed = parse_file(str(path))
    assert validate_full_spdx_document(parsed) == []
    assert parsed.creation_info.spdx_version == "SPDX-2.3"
    assert len(parsed.packages) == 1 + 5  # the image, 2 Python and 3 Debian packages


def test_spdx_lists_what_the_cyclonedx_document_lists() -> None:
    made = image_sbom()
    cdx = json.loads(sbom.document(made, "cyclonedx-json"))
    doc = spdx(made)
    by_purl = {
        ref["referenceLocator"]: p
        for p in doc["packages"]
        for ref in p.get("externalRefs", [])
        if ref["referenceType"] == "purl"
    }
    assert set(by_purl) == {c["purl"] for c in cdx["components"]}
    for c in cdx["components"]:
        package = by_purl[c["purl"]]
        assert (package["name"], package["versionInfo"]) == (c["name"], c["version"])
        assert [x["checksumValue"] for x in package.get("checksums", [])] == [
            h["content"] for h in c.get("hashes", [])
        ]
    assert by_purl["pkg:pypi/six@1.16.0"]["checksums"][0] == {
        "algorithm": "SHA256",
        "checksumValue": HASH,
    }
    assert by_purl["pkg:deb/debian/libc6@2.36-9%2Bdeb12u7?arch=amd64&distro=debian-12"][
        "sourceInfo"
    ] == ("Debian source package glibc 2.36-9+deb12u7")
    contained = {
        r["relatedSpdxElement"]
        for r in doc["relationships"]
        if (r["spdxElementId"], r["relationshipType"]) == ("SPDXRef-image", "CONTAINS")
    }
    assert contained == {package_id(purl) for purl in by_purl}
    assert {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
            "relatedSpdxElement": "SPDXRef-image"} in doc["relationships"]  # fmt: skip
    root = next(p for p in doc["packages"] if p["SPDXID"] == "SPDXRef-image")
    assert root["name"] == made.image_id
    assert "envctl:base-image=python:3.11-slim-bookworm" in root["comment"]
    assert "envctl:python=3.11.9" in root["comment"]


def test_spdx_is_the_same_bytes_for_the_same_image_however_named() -> None:
    one = sbom.document(image_sbom(), "spdx-json")
    assert sbom.document(image_sbom(), "spdx-json") == one
    assert sbom.document(image_sbom("127.0.0.1:5000/team/m@sha256:" + "2" * 64), "spdx-json") == one
    other = replace(image_sbom(), image_id="sha256:" + "3" * 64)
    assert (
        json.loads(sbom.document(other, "spdx-json"))["documentNamespace"]
        != (json.loads(one)["documentNamespace"])
    )


def test_counts_reads_both_formats_alike() -> None:
    made = image_sbom()
    assert (
        sbom.counts(sbom.document(made, "spdx-json"))
        == sbom.counts(sbom.document(made, "cyclonedx-json"))
        == sbom.Counts(python=2, debian=3, hashed=True)
    )


def test_an_spdx_id_is_stable_and_allowed_for_any_purl() -> None:
    purl = "pkg:deb/debian/libssl3@3.0.15-1~deb12u1%2Bb1?arch=amd64"
    assert package_id(purl) == package_id(purl)
    assert package_id(purl).startswith("SPDXRef-Package-")
    assert all(ch.isalnum() or ch in ".-" for ch in package_id(purl).removeprefix("SPDXRef-"))


@pytest.mark.parametrize("fmt", sbom.FORMATS)
def test_every_format_has_a_media_type(fmt: str) -> None:
    assert sbom.MEDIA_TYPES[fmt].startswith("application/")
