"""Applying a trained model to a user's own images (`predict.py`): reading and converting the
files as the training data was, and what each kind of model writes."""
