"""benchmark.json: the benchmark's results document, checked and saved.

The document (a dict) is the source of truth of a benchmark; its Markdown
table and SVG plot are made from it alone. Keys:

- ``format``: ``FORMAT``; ``date`` (UTC, ISO 8601); ``command`` (the
  command line); ``source`` (``{'commit', 'modified'}`` or None);
  ``machine`` (cores, memory_mib, cpu, kernel, qemu, accelerator);
  ``settings`` (boots, memory_mib, checks, sweep sizes...).
- ``images``: one dict per image (``role`` baseline or slim, ``path``,
  ``built``, ``build_seconds``, ``qcow2_bytes``, ``checks``, ``panics``).
- ``figures``: the table's rows, each ``name``, ``unit``, ``values``
  (image -> every value), ``median`` (image -> number or None) and
  ``target`` (None or ``{'compare': 'slim/baseline' | 'slim',
  'at_most' | 'at_least': number}``).
- ``boots``: every boot in turn: ``image``, ``number``, ``marks`` (name,
  seconds since QEMU start), ``memory_used_mib``, ``system_state``.
- ``sweep``: None, or ``{'sizes_mib': [...], 'results': [{'image',
  'memory_mib', 'status' (pass, fail, not run), 'reason', 'log_dir'}]}``.
"""

import json
import os

from akanda_slim import errors
from akanda_slim import termination

FORMAT = 'akanda-slim benchmark 1'
JSON_NAME = 'benchmark.json'
IMAGES = ('baseline', 'slim')
COMPARES = ('slim/baseline', 'slim')
BOUNDS = ('at_most', 'at_least')
SWEEP_STATUSES = ('pass', 'fail', 'not run')


class _Checker:
    """Checks one document; ``fail`` raises InputError naming the place."""

    def __init__(self, source):
        self.source = source

    def fail(self, where, expected):
        raise errors.InputError('%s: %s: expected %s (not an akanda-slim '
                                'benchmark.json of this version?)'
                                % (self.source, where, expected))

    def get(self, mapping, key, where, kinds, expected, optional=False):
        """``mapping[key]``, which must be one of ``kinds``."""
        here = '%s.%s' % (where, key) if where else key
        if key not in mapping:
            if optional:
                return None
            self.fail(here, expected)
        value = mapping[key]
        if isinstance(value, bool) and bool not in kinds:
            self.fail(here, expected)
        if not isinstance(value, kinds):
            self.fail(here, expected)
        return value

    def items(self, mapping, key, where):
        """The dicts of the list ``mapping[key]``, with their places."""
        listed = self.get(mapping, key, where, (list,), 'a list')
        for index, item in enumerate(listed):
            here = '%s[%d]' % (key if not where else where + '.' + key,
                               index)
            if not isinstance(item, dict):
                self.fail(here, 'an object')
            yield here, item

    def one_of(self, mapping, key, where, allowed):
        value = self.get(mapping, key, where, (str,), 'a string')
        if value not in allowed:
            self.fail('%s.%s' % (where, key), 'one of %s' % ', '.join(
                allowed))
        return value


NUMBER = (int, float)
NUMBER_OR_NONE = (int, float, type(None))


def _check_figure(check, where, figure):
    check.get(figure, 'name', where, (str,), 'a string')
    check.get(figure, 'unit', where, (str,), 'a string')
    values = check.get(figure, 'values', where, (dict,), 'an object')
    median = check.get(figure, 'median', where, (dict,), 'an object')
    for image in IMAGES:
        for index, value in enumerate(check.get(
                values, image, where + '.values', (list,), 'a list')):
            if isinstance(value, bool) or not isinstance(value, NUMBER):
                check.fail('%s.values.%s[%d]' % (where, image, index),
                           'a number')
        check.get(median, image, where + '.median', NUMBER_OR_NONE,
                  'a number or null')
    target = check.get(figure, 'target', where, (dict, type(None)),
                       'an object or null')
    if target is not None:
        check.one_of(target, 'compare', where + '.target', COMPARES)
        bounds = [key for key in BOUNDS if key in target]
        if len(bounds) != 1:
            check.fail(where + '.target', 'one of %s' % ', '.join(BOUNDS))
        check.get(target, bounds[0], where + '.target', NUMBER, 'a number')


def validate(document, source=JSON_NAME):
    """Raise InputError (exit 2) unless ``document`` is a results document.

    Checks what the report is made from: the header, the images, every
    figure record, every boot and the sweep.
    """
    check = _Checker(source)
    if not isinstance(document, dict):
        check.fail('the document', 'an object')
    if document.get('format') != FORMAT:
        check.fail('format', repr(FORMAT))
    for key in ('date', 'command'):
        check.get(document, key, '', (str,), 'a string')
    source = check.get(document, 'source', '', (dict, type(None)),
                       'an object or null')
    if source is not None:
        check.get(source, 'commit', 'source', (str,), 'a string')
    machine = check.get(document, 'machine', '', (dict,), 'an object')
    check.get(machine, 'cores', 'machine', (int, type(None)),
              'an integer or null')
    check.get(machine, 'accelerator', 'machine', (str,), 'a string')
    check.get(document, 'settings', '', (dict,), 'an object')
    for where, image in check.items(document, 'images', ''):
        check.one_of(image, 'role', where, IMAGES)
        check.get(image, 'path', where, (str,), 'a string')
    for where, figure in check.items(document, 'figures', ''):
        _check_figure(check, where, figure)
    for where, boot in check.items(document, 'boots', ''):
        check.one_of(boot, 'image', where, IMAGES)
        check.get(boot, 'number', where, (int,), 'an integer')
        for here, mark in check.items(boot, 'marks', where):
            check.get(mark, 'name', here, (str,), 'a string')
            check.get(mark, 'seconds', here, NUMBER, 'a number')
    sweep = check.get(document, 'sweep', '', (dict, type(None)),
                      'an object or null')
    if sweep is not None:
        for where, result in check.items(sweep, 'results', 'sweep'):
            check.one_of(result, 'image', where, IMAGES)
            check.get(result, 'memory_mib', where, (int,), 'an integer')
            check.one_of(result, 'status', where, SWEEP_STATUSES)
            check.get(result, 'reason', where, (str,), 'a string')
    return document


def load(directory):
    """The validated document of ``directory``/benchmark.json."""
    path = os.path.join(directory, JSON_NAME)
    try:
        with open(path, encoding='utf-8') as source:
            document = json.load(source)
    except FileNotFoundError:
        raise errors.InputError('%s: no such file' % path) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise errors.InputError('%s: %s' % (path, exc)) from None
    return validate(document, path)


def dumps(document):
    """The document as the text of benchmark.json."""
    return json.dumps(document, indent=2, sort_keys=False) + '\n'


def save(directory, files):
    """Write ``files`` ({name: text}) into ``directory``, all or none.

    Each goes to a temporary name first; the renames that replace an
    older report run with termination signals held, JSON last, so a
    benchmark.json present is always a complete one with its report.
    """
    staged = []
    try:
        for name, text in files.items():
            temporary = os.path.join(directory, '.%s.partial' % name)
            with open(temporary, 'w', encoding='utf-8') as out:
                out.write(text)
            staged.append((temporary, os.path.join(directory, name)))
        staged.sort(key=lambda pair: pair[1].endswith(JSON_NAME))
        with termination.deferred():
            for temporary, final in staged:
                os.replace(temporary, final)
        staged = []
    finally:
        for temporary, _ in staged:
            if os.path.exists(temporary):
                os.remove(temporary)
