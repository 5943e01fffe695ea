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
``apt-helper cat-file``.
"""

import bz2
import dataclasses
import gzip
import lzma
import os
import re

from akanda_slim import errors
from akanda_slim import process
from akanda_slim import relations
from akanda_slim import rootfs

LISTS_DIR = 'var/lib/apt/lists'
SOURCES_LIST = 'etc/apt/sources.list'
SOURCES_PARTS = 'etc/apt/sources.list.d'
MAX_SOURCES = 4 * 1024 * 1024
MAX_INDEX = 512 * 1024 * 1024
APT_HELPER = '/usr/lib/apt/apt-helper'
HASHED_FIELDS = ('installed-size', 'depends', 'pre-depends', 'conflicts',
                 'breaks', 'replaces')
FLAG_FIELDS = ('essential', 'important', 'protected')
PRIORITIES = ('required', 'important', 'standard', 'optional', 'extra')
_COMPRESSION = r'(\.(gz|xz|bz2|lzma|lz4|zst))?'
_DECOMPRESS = {'.gz': gzip.decompress, '.xz': lzma.decompress,
               '.lzma': lzma.decompress, '.bz2': bz2.decompress}
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


def uri_to_file_name(uri):
    """apt's URItoFileName: scheme and credentials dropped, / to _."""
    rest = uri.split(':', 1)[1] if re.match(r'^[A-Za-z][-+.\w]*:', uri) \
        else uri
    rest = rest.lstrip('/') if rest.startswith('//') else rest
    if '@' in rest.split('/', 1)[0]:
        rest = rest.split('@', 1)[1]
    quoted = ''.join('%%%02x' % ord(c) if c in _QUOTED or ord(c) <= 0x20
                     or ord(c) >= 0x7f else c for c in rest)
    return quoted.replace('/', '_')


def _one_line_sources(text):
    for line in text.splitlines():
        line = line.split('#', 1)[0].strip()
        if not line.startswith('deb '):
            continue
        line = re.sub(r'\[[^\]]*\]', ' ', line[4:], count=1)
        words = line.split()
        if len(words) >= 2:
            yield words[0], words[1], words[2:]


def _deb822_sources(text):
    for stanza in re.split(r'\n[ \t]*\n', text):
        fields = _fields('\n'.join(line for line in stanza.splitlines()
                                   if not line.startswith('#')))
        if 'deb' not in fields.get('types', '').split() or \
                fields.get('enabled', 'yes').lower() in _FALSE:
            continue
        for uri in fields.get('uris', '').split():
            for suite in fields.get('suites', '').split():
                yield uri, suite, fields.get('components', '').split()


def source_entries(root):
    """(uri, suite, components) of every deb source, in apt's order."""
    files = [(SOURCES_LIST, _one_line_sources)]
    parts = rootfs.resolve(root, SOURCES_PARTS)
    if os.path.isdir(parts):
        for name in sorted(os.listdir(parts)):
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


def _index_patterns(entries):
    for uri, suite, components in entries:
        base = uri if uri.endswith('/') else uri + '/'
        if suite.endswith('/'):
            yield re.escape(uri_to_file_name(base + suite + 'Packages'))
            continue
        for component in components:
            prefix = uri_to_file_name('%sdists/%s/%s/binary-' % (
                base, suite, component))
            yield re.escape(prefix) + r'[^_/]+_Packages'


def index_files(root):
    """Host paths of the index files apt reads for ``root``, in order."""
    lists = rootfs.resolve(root, LISTS_DIR)
    try:
        names = sorted(os.listdir(lists))
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        raise errors.TargetError('cannot list %s: %s' % (lists, exc))
    found = []
    for pattern in _index_patterns(source_entries(root)):
        matcher = re.compile(pattern + _COMPRESSION)
        for name in names:
            # each file resolved inside the root: a symlink stays inside
            path = rootfs.resolve(root, LISTS_DIR + '/' + name)
            if matcher.fullmatch(name) and os.path.lexists(path) and \
                    path not in found:
                found.append(path)
    return found


def read_index(path):
    """The bytes of one index file, decompressed."""
    extension = os.path.splitext(path)[1]
    if extension in ('.lz4', '.zst'):
        if not os.path.exists(APT_HELPER):
            raise errors.TargetError(
                'cannot read %s: %s (apt) is needed to decompress it'
                % (path, APT_HELPER))
        rootfs.read_bytes(path, MAX_INDEX, 'apt index file')  # regular file
        return process.run([APT_HELPER, 'cat-file', path],
                           merge_stderr=False, binary=True).stdout
    data = rootfs.read_bytes(path, MAX_INDEX, 'apt index file')
    if extension in _DECOMPRESS:
        try:
            data = _DECOMPRESS[extension](data)
        except (OSError, EOFError, lzma.LZMAError, ValueError) as exc:
            raise errors.InputError('apt index file %s: %s' % (path, exc))
    return data


# After a newline: a literal prefix the regex engine finds fast.
_PACKAGE_LINE = re.compile(rb'\nPackage:[ \t]*(\S+)')


def _stanza_around(data, match):
    """(start, text) of the index stanza holding ``match`` in ``data``.

    Archive indexes separate stanzas by one empty line; ``data`` starts
    with a newline.
    """
    start = data.rfind(b'\n\n', 0, match.start() + 1)
    end = data.find(b'\n\n', match.end())
    stanza = data[start + 2 if start >= 0 else 1:end if end >= 0 else None]
    return start, stanza.decode('utf-8', 'replace')


def _fields(stanza):
    fields, last = {}, None
    for line in stanza.split('\n'):
        if line[:1] in (' ', '\t'):
            if last:
                fields[last] += '\n' + line
        elif ':' in line:
            last, value = line.split(':', 1)
            last = last.strip().lower()
            fields[last] = value.strip()
    return fields


def read_indexes(root, native, names):
    """Records and flag texts of ``names`` (keys as target's) in the indexes.

    Returns ``{key: ([IndexRecord...], [(flag, value)...])}``, in apt's
    reading order.
    """
    found = {}
    wanted = set(names)
    wanted_names = {key.split(':', 1)[0] for key in wanted}
    for path in index_files(root):
        data = b'\n' + read_index(path)
        for match in _PACKAGE_LINE.finditer(data):
            name = match.group(1).decode('utf-8', 'replace').lower()
            if name not in wanted_names:
                continue
            fields = _fields(_stanza_around(data, match)[1])
            arch = fields.get('architecture', native) or native
            key = name if arch in (native, 'all') else '%s:%s' % (name, arch)
            if key not in wanted:
                continue
            records, flags = found.setdefault(key, ([], []))
            records.append(IndexRecord(
                version=fields.get('version', ''),
                same_version_key=same_version_key(fields),
                priority=apt_priority(fields.get('priority')),
                index=os.path.basename(path)))
            flags.extend((flag, fields[flag]) for flag in FLAG_FIELDS
                         if flag in fields)
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


def stanzas_mentioning(root, names):
    """Field dicts of the index stanzas where any of ``names`` occurs.

    One list per index file, in apt's reading order (for apt_groups).
    """
    if not names:
        return []
    word = re.compile(
        rb'(?<![A-Za-z0-9.+-])(?:%s)(?![A-Za-z0-9.+-])' % b'|'.join(
            re.escape(name.encode('utf-8')) for name in sorted(names)),
        re.I)
    result = []
    for path in index_files(root):
        data = b'\n' + read_index(path)
        stanzas, last_start = [], None
        for match in word.finditer(data):
            start, stanza = _stanza_around(data, match)
            if start != last_start:
                stanzas.append(_fields(stanza))
            last_start = start
        result.append(stanzas)
    return result
