"""The Clas qualitative bilan.

Importing the package loads nothing: the generic engine (:mod:`survey.engine`)
is usable alone, and :func:`create_app` (:mod:`survey.app`) loads the rest.
"""


def create_app(overrides=None):
    from .app import create_app as build
    return build(overrides)
