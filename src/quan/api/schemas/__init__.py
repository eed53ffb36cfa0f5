"""Request and response bodies: ``XCreate`` in, ``XPublic`` out, money as ints of fen."""
