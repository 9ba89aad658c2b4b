"""dlnotes: a deep-learning study notebook as runnable, tested models and experiments."""

from dlnotes.utils.resolvers import register_resolvers

register_resolvers()
