"""No module of akanda_slim imports one of a higher layer.

The layers, lowest first; a module may import its own layer and the ones
below it, never one above. ``base`` is every module at the top of the
package (errors, process, the command line's error boundary...).
"""

import ast
import os

import fixtures
import testtools

import akanda_slim

# Lowest first: reading a Debian root, deciding and applying, building
# with diskimage-builder, booting and checking, measuring, the commands.
LAYERS = ('base', 'debian', 'slim', 'dib', 'bootcheck', 'footprint',
          'commands')
# Top-level modules that are not base: the command line dispatches to
# every command.
TOP_LEVEL = {'cli': 'commands', '__main__': 'commands'}
PACKAGE = os.path.dirname(os.path.abspath(akanda_slim.__file__))


def layer_of(module):
    """The layer of a dotted module name under akanda_slim."""
    parts = module.split('.')
    if len(parts) < 2:
        return 'base'
    if parts[1] in LAYERS:
        return parts[1]
    return TOP_LEVEL.get(parts[1], 'base')


def modules(package=PACKAGE):
    """(dotted name, path) of every module under ``package``'s directory."""
    for directory, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != '__pycache__')
        for name in sorted(files):
            if name.endswith('.py'):
                path = os.path.join(directory, name)
                relative = os.path.relpath(path, os.path.dirname(package))
                dotted = relative[:-3].replace(os.sep, '.')
                if dotted.endswith('.__init__'):
                    dotted = dotted[:-len('.__init__')]
                yield dotted, path


def imported(module, path):
    """Dotted akanda_slim names ``path`` imports, lazily or not."""
    with open(path, encoding='utf-8') as source:
        tree = ast.parse(source.read(), path)
    package = module if path.endswith('__init__.py') else \
        module.rpartition('.')[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                parts = package.split('.')
                up = parts[:len(parts) + 1 - node.level]
                base = '.'.join(up + ([base] if base else []))
            names = ['%s.%s' % (base, alias.name) for alias in node.names]
        else:
            continue
        for name in names:
            if name.split('.')[0] == 'akanda_slim':
                yield node.lineno, name


def upward_imports(package=PACKAGE):
    """'module:line imports name (layer -> higher layer)' strings."""
    found = []
    for module, path in modules(package):
        own = LAYERS.index(layer_of(module))
        for line, name in imported(module, path):
            other = layer_of(name)
            if LAYERS.index(other) > own:
                found.append('%s:%d imports %s (%s -> %s)' % (
                    module, line, name, layer_of(module), other))
    return found


class LayersTest(testtools.TestCase):

    def test_every_subpackage_is_a_layer(self):
        subpackages = {name for name in os.listdir(PACKAGE)
                       if os.path.isfile(os.path.join(PACKAGE, name,
                                                      '__init__.py'))}
        self.assertEqual(subpackages, set(LAYERS) - {'base'})

    def test_every_module_is_on_the_architecture_page(self):
        page = os.path.join(os.path.dirname(PACKAGE), 'doc', 'source',
                            'architecture.rst')
        with open(page) as text:
            content = text.read()
        missing = [module for module, path in modules()
                   if layer_of(module) != 'commands'
                   and not path.endswith('__init__.py')
                   and '``%s``' % module.rpartition('.')[2] not in content]
        self.assertEqual([], missing)

    def test_no_import_runs_up_a_layer(self):
        self.assertEqual([], upward_imports())

    def test_layer_of(self):
        self.assertEqual('slim', layer_of('akanda_slim.slim.policy'))
        self.assertEqual('base', layer_of('akanda_slim.errors'))
        self.assertEqual('base', layer_of('akanda_slim'))
        self.assertEqual('commands', layer_of('akanda_slim.cli'))
        self.assertEqual('commands', layer_of('akanda_slim.commands'))
        self.assertEqual('debian', layer_of('akanda_slim.debian.target'))

    def test_an_upward_import_is_found(self):
        # A scratch package named akanda_slim: debian imports slim, lazily
        # and relatively; slim imports debian (allowed).
        package = os.path.join(self.useFixture(fixtures.TempDir()).path,
                               'akanda_slim')
        files = {
            '__init__.py': '',
            'errors.py': 'from akanda_slim import process\n',
            'debian/__init__.py': '',
            'debian/target.py': ('def read():\n'
                                 '    from ..slim import policy\n'),
            'slim/__init__.py': '',
            'slim/policy.py': 'from akanda_slim.debian import target\n',
        }
        for name, text in files.items():
            path = os.path.join(package, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'w') as out:
                out.write(text)
        self.assertEqual(
            ['akanda_slim.debian.target:2 imports akanda_slim.slim.policy '
             '(debian -> slim)'], upward_imports(package))
