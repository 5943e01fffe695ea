"""The upstream Astara sources the tests compare with.

They are not part of this repository: CI and developers have them in
``../shared/upstream/`` beside the clone (tag newton-eol). A test that
needs them fails, saying where it looked, when they are missing.
"""

import ast
import os
import tarfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UPSTREAM_DIR = os.environ.get(
    'AKANDA_SLIM_UPSTREAM',
    os.path.join(os.path.dirname(ROOT), 'shared', 'upstream'))
ORCHESTRATOR = 'astara-newton-eol.tar.gz'
APPLIANCE = 'astara-appliance-newton-eol.tar.gz'


def tarball(name):
    path = os.path.join(UPSTREAM_DIR, name)
    if not os.path.isfile(path):
        raise AssertionError('upstream sources missing: %s (set '
                             'AKANDA_SLIM_UPSTREAM to their directory)'
                             % path)
    return path


def read(name, member):
    """The text of ``member`` (path inside the project's top directory)."""
    with tarfile.open(tarball(name)) as archive:
        top = archive.getnames()[0].split('/')[0]
        return archive.extractfile('%s/%s' % (top, member)).read().decode()


def literal(node, env=None):
    """A Python literal's value.

    ``netaddr.X('text')`` calls give 'text', ``FakeModel(id, **fields)`` calls
    give dict(id=id, **fields), and names or attributes
    (``fakes.fake_port.network_id``) are looked up in ``env``.
    """
    env = env or {}
    if isinstance(node, ast.Call):
        name = getattr(node.func, 'attr', getattr(node.func, 'id', ''))
        if name == 'FakeModel':
            value = {'id': literal(node.args[0], env)}
            value.update((k.arg, literal(k.value, env))
                         for k in node.keywords)
            return value
        return literal(node.args[0], env)
    if isinstance(node, ast.List):
        return [literal(item, env) for item in node.elts]
    if isinstance(node, ast.Dict):
        return {literal(k, env): literal(v, env)
                for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.Name) and node.id in env:
        return env[node.id]
    if isinstance(node, ast.Attribute):
        if isinstance(node.value, ast.Name) and node.value.id == 'fakes':
            return env['fakes'][node.attr]
        return literal(node.value, env)[node.attr]
    return ast.literal_eval(node)


def _scope(tree, scope):
    for part in scope.split('.'):
        tree = next(node for node in ast.walk(tree)
                    if isinstance(node, (ast.FunctionDef, ast.ClassDef))
                    and node.name == part)
    return tree


def assignments(source, scope=None, fakes=None):
    """The assignments in ``source``: name -> literal value, in order.

    Only those in ``scope`` (``function`` or ``Class.method``) when given;
    ``fakes`` says what ``fakes.NAME`` means.
    """
    tree = ast.parse(source)
    if scope:
        tree = _scope(tree, scope)
    found = {'fakes': fakes or {}}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            name = getattr(target, 'id', getattr(target, 'attr', None))
            try:
                found[name] = literal(node.value, found)
            except (ValueError, TypeError, AttributeError, IndexError,
                    KeyError, StopIteration):
                continue
    del found['fakes']
    return found
