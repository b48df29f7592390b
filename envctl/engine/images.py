"""Images in the engine: whether one is there, what it says about itself, and
getting one in (pull), out (push), renamed (tag) or gone (remove)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from envctl.engine.connection import (
    api_reason,
    client,
    emit,
    engine_errors,
    first_line,
    progress_line,
)
from envctl.errors import BaseImageNotFoundError, EngineError
from envctl.oci import image_ref
from envctl.progress import Progress


def image_exists(ref: str) -> bool:
    from envctl.engine.local import image_json

    fast = image_json(ref)
    if fast is not None:
        return fast[0] == 200
    import docker.errors

    with engine_errors(f"inspecting image {ref}"):
        try:
            client().images.get(ref)
        except docker.errors.ImageNotFound:
            return False
    return True


def inspect_image(ref: str) -> dict[str, Any]:
    """The engine's view of an image: Id, Size, Config.Labels, RepoDigests, …"""
    from envctl.engine.local import image_json

    fast = image_json(ref)
    if fast is not None and fast[1] is not None:
        return fast[1]
    import docker.errors

    with engine_errors(f"inspecting image {ref}"):
        try:
            attrs: dict[str, Any] = client().images.get(ref).attrs
        except docker.errors.ImageNotFound:
            raise missing_image_error(ref) from None
    return attrs


def missing_image_error(ref: str) -> EngineError:
    return EngineError(f"image {ref} is not present in the engine; build or pull it first")


def remove_image(ref: str, *, force: bool = False) -> None:
    """Remove an image; one that is already gone is not an error."""
    import docker.errors

    with engine_errors(f"removing image {ref}"):
        try:
            client().api.remove_image(ref, force=force)
        except docker.errors.ImageNotFound:
            return


def tag_image(image: str, ref: str) -> None:
    try:
        target = image_ref.parse(ref)
    except ValueError as exc:
        raise EngineError(f"cannot tag {image}: {exc}") from None
    with engine_errors(f"tagging {image} as {ref}"):
        client().api.tag(image, target.repository, target.tag or "latest")


def ensure_image(ref: str, *, on_line: Progress | None = None) -> None:
    """Make sure a base image is in the engine, pulling it if it is not; raise
    BaseImageNotFoundError if it cannot be had."""
    if image_exists(ref):
        return
    reason = _pull(ref, on_line)
    if reason:
        raise base_image_not_found(ref, reason)


def pull(ref: str, *, on_line: Progress | None = None) -> str:
    """Pull `ref` (a tag or `REPO@sha256:...`); '' when it is now in the engine,
    else the engine's reason (see `is_not_found`)."""
    return _pull(ref, on_line)


_NOT_FOUND = ("manifest unknown", "not found", "does not exist", "unknown manifest")


def is_not_found(reason: str) -> bool:
    """Does a pull's reason say the registry has no such image (rather than that
    the registry could not be reached)?"""
    text = reason.lower()
    return any(marker in text for marker in _NOT_FOUND)


def _pull(ref: str, on_line: Progress | None) -> str:
    """Pull `ref`; '' on success, else the engine's reason."""
    import docker.errors

    with engine_errors(f"pulling {ref}"):
        try:
            for event in client().api.pull(ref, stream=True, decode=True):
                if "error" in event:
                    return str(event["error"])
                emit(on_line, progress_line(event))
        except docker.errors.APIError as exc:
            return api_reason(exc)
    return ""


def base_image_not_found(ref: str, reason: str) -> BaseImageNotFoundError:
    return BaseImageNotFoundError(
        f"base image {ref} is not present and cannot be pulled: {first_line(reason)}; "
        "docker load/import it or pin one your engine can reach"
    )


def push(ref: str, *, on_line: Progress | None = None) -> str:
    """Push `ref` to its registry; returns the pushed manifest digest ('' if the
    registry did not report one)."""
    digest = ""
    with engine_errors(f"pushing {ref}"):
        for event in client().api.push(ref, stream=True, decode=True):
            _raise_on_stream_error(event, f"pushing {ref}")
            digest = (event.get("aux") or {}).get("Digest") or digest
            emit(on_line, progress_line(event))
    return str(digest)


def _raise_on_stream_error(event: Mapping[str, Any], action: str) -> None:
    if "error" in event:
        raise EngineError(f"{action} failed: {first_line(event['error'])}")
