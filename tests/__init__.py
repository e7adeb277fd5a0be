"""crosspost's tests, one package rooted at the repository.

The shared parts are imported by their full name (``tests.fakes.…``, ``tests.support.…``; a
process started by a test gets the repository on ``PYTHONPATH``), a sibling module relatively
(``from .localfiles import …``).
"""
