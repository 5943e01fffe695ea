"""Pause Python's cyclic garbage collector around bulk allocation.

Reading a dpkg database and marking it allocate hundreds of thousands of
small objects and no reference cycles; the collector's repeated full scans
made that superlinear. Reference counting still frees everything.
"""

import contextlib
import functools
import gc


@contextlib.contextmanager
def paused():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def while_paused(function):
    """Decorator: run ``function`` with the cyclic collector paused."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with paused():
            return function(*args, **kwargs)
    return wrapper
