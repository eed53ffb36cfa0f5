"""Optional Redis for hot counters and rate limits, with an in-process stand-in for one machine."""
