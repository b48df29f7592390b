"""OCI vocabulary every layer shares, pure: image references (`image_ref`) and the
platforms envctl can lock and build for (`platforms`)."""
