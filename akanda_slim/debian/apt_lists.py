"""What apt's cache takes from a target's Packages indexes.

apt builds its cache from the index files of the target's sources first
and from dpkg's status file last (``pkgMakeStatusCache``). An installed
version that an index also carries, with the same version and the same
``VersionHash`` (Installed-Size and the hard relations, spaces, ``=`` and
``0:`` epochs ignored) and Multi-Arch, is one cache record, created by the
index: its ``Priority`` is the index's, not the status file's
(``MergeListVersion``, ``NewVersion``). The archive's overrides change
priorities without a new upload, so the two differ in real systems.
Essential, Important and Protected are package flags that every stanza of
the package sets or clears when it names them, status file last
(``UsePackage``, ``FindFlag``).

An index counts when a source of the target names it (``sources.list``,
``sources.list.d/*.list`` and ``*.sources``): apt ignores other files in
``var/lib/apt/lists``. Sources are taken in apt's order (sources.list
first, then the parts by name); compressed indexes (``Acquire::
GzipIndexes``) are read through Python's own decompressors or apt's
``apt-helper cat-file`` (``decompress``).

Reading is linear in the size of the sources and indexes. Peak memory
does not grow with the indexes: one block of an index
(``decompress.BLOCK``, 1 MiB) and the stanzas around it (at most
``MAX_STANZA``, 1 MiB, each), a few copies of those (lowercased, decoded,
split into fields): under 16 MiB; the decompressor's state (at most
``decompress.XZ_MEMORY``, 64 MiB, for xz); the names of the list files
and of the indexes the sources name (at most ``MAX_LIST_FILES`` and
``MAX_INDEX_NAMES``, 100,000 each); and what is asked for (one record and
at most two flag texts per installed package). An index expanding past
``MAX_INDEX`` (512 MiB) or holding a stanza over ``MAX_STANZA`` is
refused, as are sources naming more indexes (one line, exit 2).
"""

import dataclasses
import os
import re

from akanda_slim.debian import decompress
from akanda_slim.debian import relations
from akanda_slim.debian import rootfs
from akanda_slim import errors

LISTS_DIR = 'var/lib/apt/lists'
SOURCES_LIST = 'etc/apt/sources.list'
SOURCES_PARTS = 'etc/apt/sources.list.d'
MAX_SOURCES = 4 * 1024 * 1024
MAX_INDEX = 512 * 1024 * 1024
MAX_STANZA = 1024 * 1024
MAX_INDEX_NAMES = 100000
MAX_LIST_FILES = 100000
HASHED_FIELDS = ('installed-size', 'depends', 'pre-depends', 'conflicts',
                 'breaks', 'replaces')
FLAG_FIELDS = ('essential', 'important', 'protected')
PRIORITIES = ('required', 'important', 'standard', 'optional', 'extra')
COMPRESSIONS = ('.gz', '.xz', '.bz2', '.lzma', '.lz4', '.zst')
# URItoFileName: these characters, controls, space and non-ASCII are %xx.
_QUOTED = set('\\|{}[]<>"^~_=!@#$%^&*')
_TRUE = ('yes', 'true', 'with', 'on', 'enable')
_FALSE = ('no', 'false', 'without', 'off', 'disable')


@dataclasses.dataclass
class IndexRecord:
    """One stanza of an index, as far as the cache merge needs it."""

    version: str
    same_version_key: tuple
    priority: str
    index: str


_ZERO_EPOCH = re.compile('0:')
_HASH_SKIPPED = re.compile('[ \t\n\v\f\r=]+')
_ASCII_LOWER = str.maketrans('ABCDEFGHIJKLMNOPQRSTUVWXYZ',
                             'abcdefghijklmnopqrstuvwxyz')


def version_hash_text(fields):
    """The text apt's VersionHash hashes, from lowercase field -> value.

    apt skips every "0:" of the text as it was written, then ASCII spaces
    and "=", and folds ASCII case.
    """
    return ''.join(
        _HASH_SKIPPED.sub('', _ZERO_EPOCH.sub('', fields[name]))
        .translate(_ASCII_LOWER)
        for name in HASHED_FIELDS if fields.get(name) is not None)


def same_version_key(fields):
    """What apt compares to call two stanzas one version (SameVersion)."""
    return (version_hash_text(fields),
            (fields.get('multi-arch') or 'no').strip().lower())


def apt_priority(text):
    """Priority as apt's GrabWord reads it: unknown words are extra."""
    word = (text or '').strip().lower()
    return word if word in PRIORITIES else 'extra'


def fold_flag(current, value):
    """A package flag after one stanza names it (apt's StringToBool)."""
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    if re.fullmatch(r'[-+]?\d+', word):
        return int(word) != 0
    return current


def _quote(text):
    return ''.join('%%%02x' % ord(c) if c in _QUOTED or ord(c) <= 0x20
                   or ord(c) >= 0x7f else c for c in text).replace('/', '_')


def uri_to_file_name(uri):
    """apt's URItoFileName: scheme and credentials dropped, / to _."""
    rest = uri.split(':', 1)[1] if re.match(r'^[A-Za-z][-+.\w]*:', uri) \
        else uri
    rest = rest.lstrip('/') if rest.startswith('//') else rest
    if '@' in rest.split('/', 1)[0]:
        rest = rest.split('@', 1)[1]
    return _quote(rest)


def _without_options(line):
    """The line without its first ``[...]`` (apt's options), linearly."""
    start = line.find('[')
    end = line.find(']', start) if start >= 0 else -1
    return line if end < 0 else line[:start] + ' ' + line[end + 1:]


def _one_line_sources(text):
    for line in text.splitlines():
        line = line.split('#', 1)[0].strip()
        if not line.startswith('deb '):
            continue
        words = _without_options(line[4:]).split()
        if len(words) >= 2:
            yield words[0], words[1], words[2:]


def _deb822_sources(text):
    for stanza in re.split(r'\n[ \t]*\n', text):
        fields = _fields('\n'.join(line for line in stanza.splitlines()
                                   if not line.startswith('#')))
        if 'deb' not in fields.get('types', '').split() or \
                fields.get('enabled', 'yes').lower() in _FALSE:
            continue
        components = fields.get('components', '').split()
        for uri in fields.get('uris', '').split():
            for suite in fields.get('suites', '').split():
                yield uri, suite, components


def source_entries(root):
    """(uri, suite, components) of every deb source, in apt's order.

    Files that are not regular files (a directory or FIFO named
    ``*.list``) are skipped, as apt skips them.
    """
    files = [(SOURCES_LIST, _one_line_sources)]
    parts = rootfs.resolve(root, SOURCES_PARTS)
    if os.path.isdir(parts):
        for name in sorted(_list_names(parts)):
            if re.fullmatch(r'[\w.-]+\.list', name):
                files.append((SOURCES_PARTS + '/' + name, _one_line_sources))
            elif re.fullmatch(r'[\w.-]+\.sources', name):
                files.append((SOURCES_PARTS + '/' + name, _deb822_sources))
    entries = []
    for path, reader in files:
        host_path = rootfs.resolve(root, path)
        if not os.path.isfile(host_path):
            continue
        text = rootfs.read_bytes(host_path, MAX_SOURCES, 'apt sources file')
        entries.extend(reader(text.decode('utf-8', 'replace')))
    return entries


def _index_names(entries, where):
    """Index file names (no compression suffix) -> apt's reading rank.

    Ranked in the sources' order, components in their order; names ending
    ``binary-`` stand for ``binary-ARCH_Packages``. At most
    MAX_INDEX_NAMES, else an InputError.
    """
    flat, by_component = {}, {}
    rank = 0
    for uri, suite, components in entries:
        base = uri if uri.endswith('/') else uri + '/'
        if suite.endswith('/'):
            flat.setdefault(uri_to_file_name(base + suite + 'Packages'),
                            rank)
            rank += 1
            continue
        head = uri_to_file_name('%sdists/%s/' % (base, suite))
        for component in components:
            by_component.setdefault(head + _quote(component + '/binary-'),
                                    rank)
            rank += 1
            if len(by_component) > MAX_INDEX_NAMES:
                raise errors.InputError(
                    'the apt sources of %s name more than %d indexes; '
                    'refused' % (where, MAX_INDEX_NAMES))
    return flat, by_component


def _rank(name, flat, by_component):
    """The rank of the entry naming the list file ``name``, or None."""
    base = name
    for suffix in COMPRESSIONS:
        if name.endswith(suffix):
            base = name[:-len(suffix)]
            break
    ranks = [flat.get(base)]
    if base.endswith('_Packages'):
        head, _sep, arch = base[:-len('_Packages')].rpartition('_binary-')
        if _sep and arch and '/' not in arch and '_' not in arch:
            ranks.append(by_component.get(head + '_binary-'))
    ranks = [rank for rank in ranks if rank is not None]
    return min(ranks) if ranks else None


def _list_names(lists):
    try:
        with os.scandir(lists) as entries:
            names = []
            for entry in entries:
                names.append(entry.name)
                if len(names) > MAX_LIST_FILES:
                    raise errors.InputError(
                        '%s holds more than %d files; refused'
                        % (lists, MAX_LIST_FILES))
            return names
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        raise errors.TargetError('cannot list %s: %s' % (lists, exc))


def index_files(root):
    """Host paths of the index files apt reads for ``root``, in order.

    Names are matched first; only matching files are resolved (inside the
    root: a symlink stays inside).
    """
    names = _list_names(rootfs.resolve(root, LISTS_DIR))
    if not names:
        return []
    flat, by_component = _index_names(source_entries(root), root)
    ranked = sorted((rank, name) for rank, name in
                    ((_rank(name, flat, by_component), name)
                     for name in names) if rank is not None)
    found, seen = [], set()
    for _rank_, name in ranked:
        path = rootfs.resolve(root, LISTS_DIR + '/' + name)
        if path not in seen and os.path.lexists(path):
            seen.add(path)
            found.append(path)
    return found


def _stanza_runs(path):
    """Runs of whole stanzas of the index ``path``, as bytes.

    Each run starts with a newline, then whole stanzas separated by an
    empty line; a stanza over MAX_STANZA bytes is an InputError.
    """
    pending = bytearray(b'\n')
    for block in decompress.blocks(path, MAX_INDEX, 'apt index file'):
        searched = max(0, len(pending) - 1)
        pending += block
        cut = pending.rfind(b'\n\n', searched)
        if cut >= 0:
            yield bytes(pending[:cut + 1])
            del pending[:cut + 1]
        elif len(pending) > MAX_STANZA:
            raise errors.InputError(
                'apt index file %s holds a stanza over %d MiB; refused'
                % (path, MAX_STANZA // (1024 * 1024)))
    if len(pending) > 1:
        yield bytes(pending)


def _stanzas_at(run, matches):
    """Each stanza of ``run`` holding one of ``matches``, once, decoded."""
    end = 0
    for match in matches:
        if match.start() < end:
            continue  # in the stanza just read
        start = run.rfind(b'\n\n', 0, match.start() + 1)
        start = start + 2 if start >= 0 else 1
        end = run.find(b'\n\n', match.end())
        end = len(run) if end < 0 else end
        yield _fields(run[start:end].decode('utf-8', 'replace'))


# After a newline: a literal prefix the regex engine finds fast.
_PACKAGE_LINE = re.compile(rb'\nPackage:[ \t]*(\S+)')


# A field starts on a line that starts with neither space nor tab.
_FIELD_START = re.compile(r'\n(?=[^ \t\n])')


def _fields(stanza):
    """Lowercase field name -> value of one stanza (linear in its size).

    A value is its first line stripped, then its continuation lines as
    written; continuation lines after a line without a colon belong to
    the field before it.
    """
    fields, last = {}, None
    for chunk in _FIELD_START.split(stanza.rstrip('\n')):
        head, newline, rest = chunk.partition('\n')
        if ':' in head and head[:1] not in (' ', '\t'):
            name, value = head.split(':', 1)
            last = name.strip().lower()
            fields[last] = [value.strip() + newline + rest]
        elif last and rest:
            fields[last].append(rest)
    return {name: '\n'.join(parts) for name, parts in fields.items()}


def _decisive(flags, found):
    """``flags`` with ``found`` added, keeping the last decisive of each.

    Folding keeps only the last value that sets or clears a flag
    (``fold_flag``); Important and Protected set the same one.
    """
    for flag, value in found:
        if fold_flag(None, value) is None:
            continue
        group = 'essential' if flag == 'essential' else 'protected'
        flags = [(f, v) for f, v in flags if
                 ('essential' if f == 'essential' else 'protected') != group]
        flags.append((flag, value))
    return flags


def read_indexes(root, native, installed):
    """What the indexes say of the ``installed`` packages (key -> Package).

    Returns ``{key: (IndexRecord or None, [(flag, value)...])}``: the first
    index record apt merges the installed version into (``merged_record``)
    and the flag texts that decide the package's flags, in apt's reading
    order. Held: one record and at most two flag texts per package.
    """
    found = {}
    wanted_names = {key.split(':', 1)[0] for key in installed}
    for path in index_files(root):
        for run in _stanza_runs(path):
            matches = (m for m in _PACKAGE_LINE.finditer(run)
                       if m.group(1).decode('utf-8', 'replace').lower()
                       in wanted_names)
            for fields in _stanzas_at(run, matches):
                name = fields.get('package', '').strip().lower()
                arch = fields.get('architecture', native) or native
                key = name if arch in (native, 'all') else '%s:%s' % (
                    name, arch)
                if key not in installed:
                    continue
                record, flags = found.get(key, (None, []))
                package = installed[key]
                if record is None:
                    record = merged_record([IndexRecord(
                        version=fields.get('version', ''),
                        same_version_key=same_version_key(fields),
                        priority=apt_priority(fields.get('priority')),
                        index=os.path.basename(path))],
                        package.version, package.same_version_key)
                found[key] = (record, _decisive(flags, (
                    (flag, fields[flag]) for flag in FLAG_FIELDS
                    if flag in fields)))
    return found


def versions_equal(left, right):
    if left == right:
        return True
    try:
        return relations.compare_versions(left, right) == 0
    except ValueError:  # an index's version dpkg could not parse
        return False


def merged_record(records, version, key):
    """The index record apt merges the installed version into, or None."""
    for record in records:
        if record.same_version_key == key and versions_equal(
                record.version, version):
            return record
    return None


_WORD_CHARS = frozenset(b'abcdefghijklmnopqrstuvwxyz0123456789.+-')
_WORD = re.compile(rb'[a-z0-9.+-]+')
# Up to this many names one regular expression finds them; past it a
# scan of every word is faster than the alternation.
MAX_ALTERNATION = 64


def _mentions(run, names, pattern):
    """Matches of a whole word of ``names`` in ``run`` (any case)."""
    lowered = run.lower()  # as long as run: offsets stay the same
    if pattern is None:
        return (match for match in _WORD.finditer(lowered)
                if match.group() in names)
    # The regex starts with the names, so it searches fast; the word's
    # start is checked here.
    return (match for match in pattern.finditer(lowered)
            if match.start() == 0 or lowered[match.start() - 1]
            not in _WORD_CHARS)


def stanzas_mentioning(root, names):
    """Field dicts of the index stanzas where any of ``names`` occurs.

    One iterator per index file, in apt's reading order (for
    apt_groups); stanzas are read as they are used, never held all.
    """
    if not names:
        return
    encoded = {name.encode('utf-8').lower() for name in names}
    pattern = re.compile(b'(?:%s)(?![a-z0-9.+-])' % b'|'.join(
        re.escape(name) for name in sorted(encoded))) \
        if len(encoded) <= MAX_ALTERNATION else None
    for path in index_files(root):
        yield (fields for run in _stanza_runs(path)
               for fields in _stanzas_at(run, _mentions(run, encoded,
                                                        pattern)))
