"""The engine's version (recorded in every manifest and run beside a hash of its source)."""

__version__ = "0.2.0"
