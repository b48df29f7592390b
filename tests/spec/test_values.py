"""The validated scalars of envctl/spec/values.py."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from envctl.spec import values


@pytest.mark.parametrize(
    ("spec", "pinned"),
    [
        ("==1.0", "1.0"),
        ("===1.0", "1.0"),
        ("===1.0+local", "1.0+local"),
        ("==1.*", None),
        (">=1.0", None),
        ("==1.0,!=1.1", None),
        ("*", None),
    ],
)
def test_pinned_version(spec: str, pinned: str | None) -> None:
    assert values.pinned_version(spec) == pinned


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("8Gi", 8 * 2**30),
        ("8192Mi", 8 * 2**30),
        ("16G", 16 * 10**9),
        ("512M", 512 * 10**6),
        ("4k", 4000),
        ("1Ei", 2**60),
        ("1E", 10**18),
        ("1e3", 1000),
        ("1E3", 1000),
        ("1e+3", 1000),
        ("2000e-3", 2),
        ("0.5Ki", 512),
        (".5Ki", 512),
        ("1.", 1),
        ("+2G", 2 * 10**9),
        ("4000m", 4),
        (1024, 1024),
        (0, 0),
    ],
)
def test_memory_bytes_accepts_kubernetes_quantities(raw: object, expected: int) -> None:
    assert values.memory_bytes(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("4GB", '\'4GB\' is not a memory quantity like "8Gi", "512Mi" or "16G"; '
         'did you mean "4Gi" or "4G"?'),
        ("4gb", 'did you mean "4Gi" or "4G"?'),
        ("4 Gi", 'did you mean "4Gi"?'),
        ("4K", 'did you mean "4Ki" or "4k"?'),
        ("4KiB", 'did you mean "4Ki"?'),
        ("4gi", 'did you mean "4Gi"?'),
        ("500m", '\'500m\' is not a whole number of bytes ("m" is milli); '
         'did you mean "500Mi" or "500M"?'),
        ("1.5", "'1.5' is not a whole number of bytes"),
        ("1e", "not a memory quantity"),
        ("1e1.5", "not a memory quantity"),
        ("lots", 'not a memory quantity like "8Gi", "512Mi" or "16G"'),
        ("-1Gi", "memory must not be negative"),
        (-1, "memory must not be negative"),
        ("8Ei", "more memory than an engine can take"),
        ("1e99999", "the exponent is out of range"),
        (True, "memory must be a quantity"),
    ],
)  # fmt: skip
def test_memory_bytes_refuses_with_a_hint(raw: object, message: str) -> None:
    with pytest.raises(ValueError) as info:
        values.memory_bytes(raw)
    assert message in str(info.value)


# The Kubernetes quantity suffixes, written out here as the oracle.
BINARY = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


@st.composite
def quantities(draw: st.DrawFn) -> tuple[str, Fraction]:
    """A grammar-valid quantity and its value, computed independently of the parser."""
    sign = draw(st.sampled_from(["", "+", "-"]))
    whole = draw(st.text("0123456789", max_size=6))
    fraction = draw(st.text("0123456789", max_size=4))
    assume(whole or fraction)
    dot = draw(st.booleans()) if whole and not fraction else True
    number = f"{whole}.{fraction}" if dot else whole
    value = Fraction(int(whole or "0") * 10 ** len(fraction) + int(fraction or "0"))
    value /= 10 ** len(fraction)
    kind = draw(st.sampled_from(["binary", "decimal", "exponent"]))
    if kind == "binary":
        suffix = draw(st.sampled_from(BINARY))
        factor = Fraction(2) ** (10 * (BINARY.index(suffix) + 1))
    elif kind == "decimal":
        suffix = draw(st.sampled_from(sorted(DECIMAL)))
        factor = Fraction(10) ** DECIMAL[suffix]
    else:
        exponent = draw(st.integers(-30, 30))
        mark = draw(st.sampled_from(["e", "E"]))
        plus = "+" if exponent >= 0 and draw(st.booleans()) else ""
        suffix = f"{mark}{plus}{exponent}"
        factor = Fraction(10) ** exponent
    return f"{sign}{number}{suffix}", (-value if sign == "-" else value) * factor


@given(quantities())
def test_quantity_parses_every_grammar_valid_quantity(case: tuple[str, Fraction]) -> None:
    text, value = case
    assert values.quantity(text) == value


@given(quantities())
def test_memory_bytes_format_round_trip(case: tuple[str, Fraction]) -> None:
    text, value = case
    assume(value.denominator == 1 and 0 <= value <= values.MAX_MEMORY)
    parsed = values.memory_bytes(text)
    assert parsed == value
    assert values.memory_bytes(values.format_bytes(parsed)) == parsed


@given(st.integers(0, values.MAX_MEMORY))
def test_format_bytes_parses_back(count: int) -> None:
    assert values.memory_bytes(values.format_bytes(count)) == count


@given(st.integers(0, 10**6), st.text("kKmMgGtTpPeEiIbBnNuUxX", min_size=1, max_size=3))
def test_memory_bytes_refuses_invalid_suffixes(number: int, suffix: str) -> None:
    assume(suffix not in {*BINARY, *DECIMAL})
    with pytest.raises(ValueError):
        values.memory_bytes(f"{number}{suffix}")


@given(st.integers(1, 10**6), st.sampled_from([*BINARY, *DECIMAL]))
def test_memory_bytes_refuses_a_space_before_the_suffix(number: int, suffix: str) -> None:
    assume(suffix)
    with pytest.raises(ValueError, match="not a memory quantity"):
        values.memory_bytes(f"{number} {suffix}")


@pytest.mark.parametrize(
    "raw", ["/predict", "/health", "/v1/models/churn:predict", "/health?deep=1&x=%20y", "/"]
)
def test_url_path_accepts_absolute_paths(raw: str) -> None:
    assert values.url_path(raw) == raw


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("@169.254.169.254/latest/meta-data", "is not an absolute URL path like '/predict'"),
        ("/@169.254.169.254/x", "is not an absolute URL path"),
        ("//evil.example/x", "is not an absolute URL path"),
        ("http://evil.example/x", "is not an absolute URL path"),
        ("predict", "is not an absolute URL path"),
        ("", "is not an absolute URL path"),
        ("/a\\b", "is not an absolute URL path"),
        ("/a b", "is not an absolute URL path"),
        ("/a\tb", "is not an absolute URL path"),
        ("/a\x7f", "is not an absolute URL path"),
        ("/predict\n", "is not an absolute URL path"),
        ("/a#fragment", "is not an absolute URL path"),
        ("/a?b=@c", "is not an absolute URL path"),
        ("/%zz", "is not an absolute URL path"),
        ("/a/../admin", "may not contain '..' segments"),
        ("/a/%2E%2e/admin", "may not contain '..' segments"),
        ("/..?x=1", "may not contain '..' segments"),
    ],
)
def test_url_path_refuses(raw: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        values.url_path(raw)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("check", "raw"),
    [
        (values.safe_text, "fine text\n"),
        (values.safe_token, "token\n"),
        (values.apt_package, "libgomp1\n"),
        (values.env_key, "OMP_NUM_THREADS\n"),
    ],
)
def test_a_trailing_newline_never_passes_a_validator(check: Callable[[str], str], raw: str) -> None:
    # `$` matches before a final newline; the patterns end in `\Z` so nothing
    # that could start a new Dockerfile line gets through.
    with pytest.raises(ValueError):
        check(raw)


@pytest.mark.parametrize(
    ("raw", "seconds", "shown"),
    [("24h", 86400, "1d"), ("30m", 1800, "30m"), ("2d", 172800, "2d"), ("90m", 5400, "90m"),
     ("1w", 604800, "1w"), ("36h", 129600, "36h")],
)  # fmt: skip
def test_duration_round_trip(raw: str, seconds: int, shown: str) -> None:
    assert values.duration_seconds(raw) == seconds
    assert values.format_duration(seconds) == shown
    assert values.duration_seconds(shown) == seconds


@pytest.mark.parametrize("raw", ["24", "1 h", "1.5h", "1y", "", "-1h", 24])
def test_duration_refuses(raw: object) -> None:
    with pytest.raises(ValueError, match="is not a duration like"):
        values.duration_seconds(raw)


@pytest.mark.parametrize(
    ("raw", "minutes"),
    [("09:00-17:00", (540, 1020)), ("00:00-24:00", (0, 1440)), ("23:30-23:45", (1410, 1425))],
)
def test_hour_range(raw: str, minutes: tuple[int, int]) -> None:
    assert values.hour_range(raw) == minutes


@pytest.mark.parametrize(
    "raw", ["17:00-09:00", "09:00-09:00", "24:00-24:00", "9-17", "25:00-26:00"]
)
def test_hour_range_refuses(raw: str) -> None:
    with pytest.raises(ValueError, match=raw):
        values.hour_range(raw)


def test_time_zone() -> None:
    assert values.time_zone("Europe/Berlin") == "Europe/Berlin"
    with pytest.raises(ValueError, match="is not an IANA time zone"):
        values.time_zone("Europe/Nowhere")
    with pytest.raises(ValueError, match="is not an IANA time zone"):
        values.time_zone("../etc/passwd")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("http://churn.prod.internal:8000", "http://churn.prod.internal:8000"),
        ("https://models.example.com/churn/", "https://models.example.com/churn"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000"),
    ],
)
def test_service_url_accepts_base_urls(raw: str, expected: str) -> None:
    assert values.service_url(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("churn.internal:8000", "is not a service URL"),
        ("ftp://churn.internal", "is not a service URL"),
        ("http://user:secret@churn.internal", "is not a service URL"),
        ("http://churn.internal/?x=1", "is not a service URL"),
        ("http://churn.internal/#top", "is not a service URL"),
        ("http://churn internal", "is not a service URL"),
        ("http://churn.internal\n", "is not a service URL"),
        ("http://churn.internal:99999", "the port is not a number"),
    ],
)
def test_service_url_refuses(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        values.service_url(raw)


@given(st.from_regex(r"\A[A-Za-z0-9._-]{1,40}\Z"))
def test_canonical_name_is_packagings(name: str) -> None:
    """envctl's own PEP 503 normalisation writes what packaging's does."""
    from packaging.utils import canonicalize_name

    assert values.canonical_name(name) == canonicalize_name(name)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("unix:///var/run/docker.sock", "unix:///var/run/docker.sock"),
        ("tcp://gpu-host.internal:2376", "tcp://gpu-host.internal:2376"),
        ("tcp://127.0.0.1:2375/", "tcp://127.0.0.1:2375"),
        ("ssh://deploy@gpu-host", "ssh://deploy@gpu-host"),
        ("ssh://gpu-host:2222", "ssh://gpu-host:2222"),
    ],
)
def test_engine_url_accepts_the_three_schemes(raw: str, expected: str) -> None:
    assert values.engine_url(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("http://gpu-host:2375", "is not a Docker Engine URL: unix:///path/to/docker.sock"),
        ("npipe:////./pipe/docker_engine", "is not a Docker Engine URL"),
        ("gpu-host:2376", "is not a Docker Engine URL"),
        ("unix://docker.sock", "a unix socket is an absolute path"),
        ("tcp://gpu-host", "a tcp engine needs its port"),
        ("tcp://gpu-host:99999", "the port is not a number"),
        ("tcp://gpu-host:2376/v1", "a tcp engine is tcp://HOST"),
        ("ssh://deploy:secret@gpu-host", "no password"),
        ("ssh://gpu-host?x=1", "no password, query"),
        ("ssh://gpu-host;reboot", "no password, query, fragment, spaces or quotes"),
        ("ssh://gpu-host\n", "no password, query, fragment, spaces or quotes"),
    ],
)
def test_engine_url_refuses(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        values.engine_url(raw)
