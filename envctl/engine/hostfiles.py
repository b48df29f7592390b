"""Reading a file on the engine's host: the evaluate gate's data may live there
(a remote engine's host holds data this machine may not).

The file is reached through a read-only bind mount of a container that is
created and never started: nothing of the image runs, and the file's bytes come
back through the engine's archive API, exactly as they are."""

from __future__ import annotations

import io

from envctl.engine.connection import api_reason, client, engine_errors
from envctl.engine.images import missing_image_error
from envctl.engine.lifecycle import creator_labels, owned_container, unique_name

MOUNTED_AT = "/envctl-host-file"


def read_host_file(image: str, host_path: str) -> bytes | None:
    """The bytes of `host_path` on the engine's host, or None when it has no such
    regular file. A `mounts` bind, not a `volumes` one: for a missing source the
    engine would create a folder on its host; a mount refuses instead."""
    import docker.errors
    from docker.types import Mount

    name = unique_name("read")
    mount = Mount(MOUNTED_AT, host_path, type="bind", read_only=True)
    with owned_container(name), engine_errors(f"reading {host_path} on the engine's host"):
        try:
            container = client().containers.create(
                image, ["true"], name=name, network_mode="none",
                labels=creator_labels(), mounts=[mount],
            )  # fmt: skip
        except docker.errors.ImageNotFound:
            raise missing_image_error(image) from None
        except docker.errors.APIError as exc:
            if "does not exist" in api_reason(exc):
                return None
            raise
        chunks, _stat = container.get_archive(MOUNTED_AT)
        return _only_file(b"".join(chunks))


def _only_file(archive: bytes) -> bytes | None:
    import tarfile  # here: `import envctl.engine` (every engine call) need not load it

    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = tar.next()
        extracted = tar.extractfile(member) if member is not None and member.isfile() else None
        return extracted.read() if extracted is not None else None
