"""Snapscale: a photo-sharing web application built to scale out."""

__version__ = "0.1.0"
