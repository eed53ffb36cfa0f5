"""Scheduled work (batch opening, expiry, settlement, log sequencing...) and its leases."""
