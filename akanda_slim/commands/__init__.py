"""Sub-commands of the akanda-slim command line.

Each module here is one sub-command. It defines ``HELP`` (one line, a
string literal), ``add_arguments(parser)`` and ``run(args)``, which returns
the exit code. The command's name is the module's name with ``_`` spelled
``-`` (``elements_path`` is ``elements-path``).

Loading is lazy (akanda_slim.cli): the names come from the ``*.py``
files of this directory without importing anything, only the chosen
command's module is imported, and the one-line help of the others is read
from the ``HELP = '...'`` literal in their source (``help_text``), so a
command module may import what it likes at its top; heavy imports that
only ``run`` needs are still better kept inside ``run``. A module whose
HELP is not a literal is imported to read it.
"""

import ast
import importlib
import os

PACKAGE = __name__


def names():
    """{command name: module name} of every command, nothing imported."""
    found = {}
    for directory in __path__:
        for entry in os.listdir(directory):
            module, ext = os.path.splitext(entry)
            if ext == '.py' and module.isidentifier() and \
                    not module.startswith('_'):
                found[module.replace('_', '-')] = module
    return found


def load(module_name):
    return importlib.import_module('%s.%s' % (PACKAGE, module_name))


def help_text(module_name):
    """The module's HELP, read from its source's literal when it has one."""
    try:
        with open(os.path.join(__path__[0], module_name + '.py'),
                  encoding='utf-8') as source:
            tree = ast.parse(source.read())
    except (OSError, SyntaxError, TypeError, ValueError):
        tree = None
    for node in tree.body if tree is not None else ():
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and getattr(node.targets[0], 'id', None) == 'HELP'):
            try:
                return ast.literal_eval(node.value)
            except ValueError:
                break
    return load(module_name).HELP
