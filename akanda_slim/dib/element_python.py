"""Load a Python file the slim element ships for the image (slim-python/).

The element's in-image scripts and the package share their definitions
(cloud-init's stage list) through these files; ``load(NAME)`` imports
``elements/slim/slim-python/NAME.py`` from this installation's elements
without writing bytecode beside it.
"""

import importlib.util
import os
import sys

from akanda_slim.dib import image_build

DIRECTORY = ('slim', 'slim-python')


def path(name, elements_dir=None):
    """The path of the element's ``name``.py."""
    elements_dir = elements_dir or image_build.find_elements_dir()
    return os.path.join(elements_dir, *DIRECTORY, name + '.py')


def load(name, elements_dir=None):
    """The module ``name`` from the element's slim-python/ directory."""
    spec = importlib.util.spec_from_file_location(
        'akanda_slim_element_' + name, path(name, elements_dir))
    module = importlib.util.module_from_spec(spec)
    writes = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = writes
    return module
