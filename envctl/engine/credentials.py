"""The credentials the Docker client has for a registry (~/.docker/config.json,
its credential store or helpers), for the calls envctl makes to a registry
itself (an SBOM pushed beside an image), so they need no login of their own."""

from __future__ import annotations


def registry_credentials(host: str) -> tuple[str, str] | None:
    """(user, password or identity token) for `host`; None when the Docker
    client has none (an anonymous registry) or its store cannot be read."""
    import docker.auth
    import docker.errors

    try:
        found = docker.auth.load_config().resolve_authconfig(host)
    except (docker.errors.DockerException, OSError, ValueError):
        return None
    if not found:
        return None
    token = found.get("IdentityToken")
    user, password = (
        found.get("Username") or found.get("username"),
        found.get("Password") or found.get("password"),
    )
    if token:
        return ("<token>", str(token))  # the token service takes it as the password
    return (str(user), str(password)) if user and password else None
