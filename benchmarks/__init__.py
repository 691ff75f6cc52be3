"""Benchmarks of django-sequences against the bare database driver (``make bench``)."""
