"""dlnotes: a deep-learning study notebook as runnable, tested models and experiments."""

from dlnotes.config.resolvers import register_resolvers

register_resolvers()
