"""conda package names -> what a spec can hold: a PyPI name, a Debian system
package hint, or a pointer to the GPU spec.

Two sources, in this order: envctl's own curated tables below (native
libraries with their Debian bookworm names, CUDA packages, and the renames and
common Python packages the extracted mapping lacks), then grayskull's
conda -> PyPI mapping extracted into `conda_names.txt` (its header says from
where and when). A name found in neither is not carried: guessing that a conda
name is the PyPI project of the same name would let anyone who registers it on
PyPI into the image.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

from packaging.utils import canonicalize_name

# Checked against conda-forge feedstock names and PyPI project names, 2026-12-05.
_CURATED_RENAMES = {
    "pytorch": "torch",
    "pytorch-cpu": "torch",
    "pytorch-gpu": "torch",
    "py-opencv": "opencv-python",
    "opencv": "opencv-python",
    "matplotlib-base": "matplotlib",
    "py-xgboost": "xgboost",
    "py-xgboost-cpu": "xgboost",
    "py-xgboost-gpu": "xgboost",
    "pytables": "tables",
    "msgpack-python": "msgpack",
    "python-graphviz": "graphviz",
    "ray-core": "ray",
    "ray-default": "ray",
    "faiss-cpu": "faiss-cpu",
    "faiss": "faiss-cpu",
    "tensorflow-base": "tensorflow",
    "pyqt": "pyqt5",
    "jupyter_core": "jupyter-core",
    "dask-core": "dask",
    "python-duckdb": "duckdb",
}
# Python packages with the same name on both sides that the extracted mapping
# does not list (it records conda-forge's automatic entries, not every project).
_CURATED_SAME = frozenset(
    [
        "numpy",
        "scipy",
        "pandas",
        "scikit-learn",
        "scikit-image",
        "statsmodels",
        "matplotlib",
        "seaborn",
        "plotly",
        "bokeh",
        "altair",
        "pyarrow",
        "polars",
        "numba",
        "cython",
        "h5py",
        "tables",
        "sympy",
        "networkx",
        "joblib",
        "threadpoolctl",
        "tensorflow",
        "keras",
        "tensorboard",
        "torchvision",
        "torchaudio",
        "jax",
        "jaxlib",
        "transformers",
        "datasets",
        "tokenizers",
        "sentencepiece",
        "accelerate",
        "timm",
        "einops",
        "safetensors",
        "huggingface-hub",
        "xgboost",
        "lightgbm",
        "catboost",
        "optuna",
        "shap",
        "mlflow",
        "wandb",
        "hydra-core",
        "omegaconf",
        "pillow",
        "imageio",
        "opencv-python",
        "albumentations",
        "nltk",
        "spacy",
        "gensim",
        "pyyaml",
        "requests",
        "urllib3",
        "certifi",
        "six",
        "setuptools",
        "wheel",
        "click",
        "rich",
        "typer",
        "tqdm",
        "fastapi",
        "uvicorn",
        "flask",
        "gunicorn",
        "sqlalchemy",
        "psycopg2",
        "boto3",
        "s3fs",
        "fsspec",
        "gcsfs",
        "pydantic",
        "protobuf",
        "grpcio",
        "onnx",
        "onnxruntime",
        "ipython",
        "ipykernel",
        "jupyter",
        "jupyterlab",
        "notebook",
        "pytest",
        "black",
        "ruff",
        "mypy",
        "flake8",
        "pyspark",
        "dask",
        "distributed",
        "ray",
        "duckdb",
    ]
)
# conda's native libraries -> Debian bookworm's package ("" where nothing is to be
# installed: a conda-internal selector, or something every Debian image has).
_NATIVE = {
    "libgomp": "libgomp1",
    "_openmp_mutex": "",
    "_libgcc_mutex": "",
    "llvm-openmp": "libomp5",
    "intel-openmp": "",
    "libgcc-ng": "libgcc-s1",
    "libgcc": "libgcc-s1",
    "libstdcxx-ng": "libstdc++6",
    "libstdcxx": "libstdc++6",
    "libgfortran-ng": "libgfortran5",
    "libgfortran5": "libgfortran5",
    "openssl": "libssl3",
    "zlib": "zlib1g",
    "libzlib": "zlib1g",
    "libffi": "libffi8",
    "ncurses": "libncurses6",
    "readline": "libreadline8",
    "sqlite": "libsqlite3-0",
    "libsqlite": "libsqlite3-0",
    "xz": "liblzma5",
    "liblzma": "liblzma5",
    "bzip2": "libbz2-1.0",
    "libbzip2": "libbz2-1.0",
    "tk": "libtk8.6",
    "libuuid": "libuuid1",
    "libnsl": "libnsl2",
    "libedit": "libedit2",
    "expat": "libexpat1",
    "libexpat": "libexpat1",
    "libxml2": "libxml2",
    "libopenblas": "libopenblas0",
    "openblas": "libopenblas0",
    "libblas": "libblas3",
    "liblapack": "liblapack3",
    "libcblas": "libblas3",
    "mkl": "",
    "tbb": "libtbb12",
    "ffmpeg": "ffmpeg",
    "libsndfile": "libsndfile1",
    "jpeg": "libjpeg62-turbo",
    "libjpeg-turbo": "libjpeg62-turbo",
    "libpng": "libpng16-16",
    "libtiff": "libtiff6",
    "freetype": "libfreetype6",
    "libwebp": "libwebp7",
    "hdf5": "libhdf5-103-1",
    "graphviz": "graphviz",
    "git": "git",
    "curl": "curl",
    "libcurl": "libcurl4",
    "cmake": "cmake",
    "make": "make",
    "gcc": "gcc",
    "gxx": "g++",
    "ca-certificates": "ca-certificates",
    "tzdata": "tzdata",
    "ld_impl_linux-64": "",
}
_CUDA = frozenset(
    [
        "cudatoolkit",
        "cuda-toolkit",
        "cuda",
        "cuda-version",
        "cuda-runtime",
        "cuda-nvcc",
        "cuda-cudart",
        "cuda-libraries",
        "cudnn",
        "nccl",
        "pytorch-cuda",
        "cutensor",
        "cuda-compat",
        "tensorrt",
    ]
)
_CUDA_PREFIX = re.compile(r"^(cuda-|libcu|libnv|libnccl|libcudnn)")

Kind = Literal["pypi", "native", "cuda", "unknown"]


@dataclass(frozen=True)
class Mapped:
    """What a conda name is: `pypi` (name: the PyPI project), `native` (name:
    the Debian package, "" when none is needed), `cuda`, or `unknown`."""

    kind: Kind
    name: str = ""
    origin: str = ""  # "envctl", "grayskull"


def map_conda_name(conda: str) -> Mapped:
    key = conda.lower()
    if key in _NATIVE:
        return Mapped("native", _NATIVE[key], "envctl")
    if key in _CUDA or _CUDA_PREFIX.match(key):
        return Mapped("cuda", origin="envctl")
    if key in _CURATED_RENAMES:
        return Mapped("pypi", _CURATED_RENAMES[key], "envctl")
    if canonicalize_name(key) in _CURATED_SAME:
        return Mapped("pypi", str(canonicalize_name(key)), "envctl")
    renames, same = _extracted()
    if key in renames:
        return Mapped("pypi", renames[key], "grayskull")
    if canonicalize_name(key) in same:
        return Mapped("pypi", str(canonicalize_name(key)), "grayskull")
    return Mapped("unknown")


@cache
def _extracted() -> tuple[dict[str, str], frozenset[str]]:
    text = resources.files("envctl.spec.imports").joinpath("conda_names.txt").read_text("utf-8")
    renames: dict[str, str] = {}
    same: set[str] = set()
    section = ""
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line
        elif section == "[renames]":
            conda, pypi = line.split(" ", 1)
            renames[conda.lower()] = pypi
        else:
            same.add(line)
    return renames, frozenset(same)
