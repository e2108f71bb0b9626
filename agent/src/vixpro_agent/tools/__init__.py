"""The built-in tools a host agent can run, one module per group; see ``registry``."""
