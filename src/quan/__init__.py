"""Quan (券): an open platform for running service consumption voucher programs."""

__version__ = "0.1.0"
