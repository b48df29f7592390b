"""From a spec to an image: locks, wheels, Dockerfile rendering, image identity, test layers.

`lockfile` resolves a spec's packages with uv, `wheels` fetches and hash-checks
them on the host, `render` turns templates into a Dockerfile, `recipe` names the
image and builds its context, `testlayer` puts test-only packages above an image.
"""
