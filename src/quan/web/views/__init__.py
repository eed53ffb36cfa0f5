"""Read models of the console: figures assembled for a page from the store, in one snapshot."""
