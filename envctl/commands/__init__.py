"""One module per CLI verb: plain typed inputs, a result value out, EnvctlError on failure."""
