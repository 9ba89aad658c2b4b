"""Lightning plugins the trainer configs use."""
