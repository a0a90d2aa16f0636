"""The built-in simulated estate: the default when nothing is configured."""
