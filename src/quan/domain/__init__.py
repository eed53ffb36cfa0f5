"""Pure rules of the voucher platform: no I/O, no framework, plain dataclasses and ints."""
