"""One module per dashboard view: layout plus the callbacks that fill it."""
