"""People: citizens, their sign-in codes and personal data, staff accounts, tokens and keys,
and the limits on guessing their secrets."""
