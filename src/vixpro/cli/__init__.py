"""The ``vixpro`` command."""
