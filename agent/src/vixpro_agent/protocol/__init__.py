"""What the platform and the host agent say to each other, and how it is signed.

Shared by both sides: the platform imports it from this package.
"""
