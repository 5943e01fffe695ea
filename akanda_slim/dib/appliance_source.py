"""Fetch the appliance agent's source and apply the project's patch series.

The ``akanda-appliance-app`` element runs this module on the build host::

    python -m akanda_slim.dib.appliance_source check LOCATION [--ref REF]
    python -m akanda_slim.dib.appliance_source fetch LOCATION DEST [--ref REF]
        [--series FILE]

LOCATION is a git URL, a local git repository, a local directory or a
tarball (``.tar.gz``, ``.tgz``, ``.tar.xz``, ``.tar.bz2``) holding one top
directory. REF is a git ref (default: the repository's HEAD); it is an
error for a directory or a tarball. ``check`` refuses bad input without
copying anything (a git URL is only checked when fetched); ``fetch`` puts
the tree into DEST (which must not exist), checks that it is the agent and
applies the series. Every refusal is one line and exit status 2; a patch
that no longer applies is one line naming it and exit status 1.
"""

import argparse
import os
import posixpath
import shutil
import sys
import tarfile
import tempfile

from akanda_slim import dib_entry
from akanda_slim import errors
from akanda_slim import process

LOCATION_VARIABLE = 'DIB_REPOLOCATION_akanda_appliance_app'
REF_VARIABLE = 'DIB_REPOREF_akanda_appliance_app'
# The file that makes a tree the appliance agent (its WSGI application).
AGENT_MARKER = 'astara_router/api/server.py'
TARBALL_SUFFIXES = ('.tar.gz', '.tgz', '.tar.xz', '.tar.bz2')


class SourceError(errors.InputError):
    """The source location or ref is missing, unsafe or not the agent."""


class PatchError(errors.SlimError):
    """A patch of the series does not apply to the fetched source."""


def kind_of(location):
    """'tarball', 'git', 'directory' or 'git-url' for ``location``.

    A local path must exist; anything that does not exist locally and looks
    like a URL (``scheme://`` or ``user@host:path``) is a git URL.
    """
    if not location:
        raise SourceError(
            'no source for the appliance agent: set %s to its git '
            'repository, directory or tarball (git URL or local path)'
            % LOCATION_VARIABLE)
    if os.path.isfile(location):
        if location.endswith(TARBALL_SUFFIXES):
            return 'tarball'
        raise SourceError('%s: not a tarball (%s) nor a directory'
                          % (location, ', '.join(TARBALL_SUFFIXES)))
    if os.path.isdir(location):
        if _is_git_repository(location):
            return 'git'
        return 'directory'
    if '://' in location or _looks_like_scp(location):
        return 'git-url'
    raise SourceError('%s: no such file or directory' % location)


def _looks_like_scp(location):
    head, sep, _ = location.partition(':')
    return bool(sep) and '@' in head and '/' not in head


def _is_git_repository(path):
    bare = all(os.path.exists(os.path.join(path, entry))
               for entry in ('HEAD', 'objects', 'refs'))
    return bare or os.path.exists(os.path.join(path, '.git'))


def tarball_top(path):
    """The one top directory of tarball ``path``; refuses unsafe members.

    Refused: absolute names, ``..`` components, more than one top entry,
    links pointing outside the top directory, device nodes and FIFOs.
    """
    try:
        with tarfile.open(path) as tar:
            members = tar.getmembers()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise SourceError('%s: unreadable tarball (%s)'
                          % (path, ' '.join(str(exc).split())))
    tops = set()
    for member in members:
        _check_member(path, member)
        tops.add(posixpath.normpath(member.name).split('/')[0])
    if len(tops) != 1:
        raise SourceError('%s: expected one top directory, found %d'
                          % (path, len(tops)))
    top = tops.pop()
    if any(posixpath.normpath(m.name) == top and not m.isdir()
           for m in members):
        raise SourceError('%s: %s is not a directory' % (path, top))
    names = set(posixpath.normpath(m.name) for m in members if m.isfile())
    if posixpath.join(top, AGENT_MARKER) not in names:
        raise SourceError('%s: not the appliance agent (no %s in %s/)'
                          % (path, AGENT_MARKER, top))
    return top


def _inside(top, name):
    return name == top or name.startswith(top + '/')


def _check_member(path, member):
    name = member.name
    if name.startswith('/') or '..' in name.split('/'):
        raise SourceError('%s: member %s escapes the top directory'
                          % (path, name))
    if member.ischr() or member.isblk() or member.isfifo():
        raise SourceError('%s: member %s is a device node or FIFO'
                          % (path, name))
    top = posixpath.normpath(name).split('/')[0]
    if member.issym():
        target = posixpath.join(posixpath.dirname(name), member.linkname)
    elif member.islnk():
        target = member.linkname
    else:
        return
    outside = not _inside(top, posixpath.normpath(target))
    if member.linkname.startswith('/') or outside:
        raise SourceError('%s: link %s -> %s points outside the top '
                          'directory' % (path, name, member.linkname))


def check(location, ref=None):
    """Refuse a bad ``location``/``ref`` pair before anything is installed.

    Returns the location's kind. A git URL is only checked for its form.
    """
    kind = kind_of(location)
    if ref and kind in ('tarball', 'directory'):
        raise SourceError('%s is a %s: unset %s (a ref only applies to git)'
                          % (location, kind, REF_VARIABLE))
    if kind == 'tarball':
        tarball_top(location)
    elif kind == 'directory':
        _check_agent_tree(location)
    elif kind == 'git':
        _check_git_ref(location, ref or 'HEAD')
    return kind


def _check_agent_tree(tree, what=None):
    if not os.path.isfile(os.path.join(tree, AGENT_MARKER)):
        raise SourceError('%s: not the appliance agent (no %s)'
                          % (what or tree, AGENT_MARKER))


def _git(arguments, what):
    try:
        command = ['git', '-c', 'advice.detachedHead=false']
        return process.run(command + arguments, timeout=600).stdout
    except errors.CommandError as exc:
        last = exc.tail(1).strip()
        raise SourceError(what + (': ' + last if last else '')) from None


def _check_git_ref(repository, ref):
    what = '%s (ref %s)' % (repository, ref)
    _git(['-C', repository, 'rev-parse', '--verify', '--quiet',
          ref + '^{commit}'], what + ': no such ref')
    _git(['-C', repository, 'cat-file', '-e', '%s:%s' % (ref, AGENT_MARKER)],
         '%s: not the appliance agent (no %s)' % (what, AGENT_MARKER))


def fetch(location, dest, ref=None):
    """Put the agent's tree from ``location`` into ``dest`` (new); kind."""
    kind = check(location, ref)
    if os.path.lexists(dest):
        raise SourceError('%s: already exists' % dest)
    parent = os.path.dirname(os.path.abspath(dest))
    os.makedirs(parent, exist_ok=True)
    work = tempfile.mkdtemp(prefix='.appliance-source-', dir=parent)
    try:
        tree = os.path.join(work, 'tree')
        if kind == 'tarball':
            _extract(location, work, tree)
        elif kind == 'directory':
            shutil.copytree(location, tree, symlinks=True)
        else:
            _clone(location, tree, ref)
        _check_agent_tree(tree, location)
        os.rename(tree, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return kind


def _extract(tarball, work, tree):
    top = tarball_top(tarball)
    with tarfile.open(tarball) as tar:
        if hasattr(tarfile, 'data_filter'):
            tar.extractall(work, filter='data')
        else:
            tar.extractall(work)
    os.rename(os.path.join(work, top), tree)


def _clone(location, tree, ref):
    _git(['clone', '--quiet', location, tree],
         '%s: git clone failed' % location)
    if ref:
        _git(['-C', tree, 'checkout', '--quiet', ref],
             '%s: no ref %s' % (location, ref))
    shutil.rmtree(os.path.join(tree, '.git'))


def read_series(series):
    """The patch file names listed in ``series``, in order."""
    try:
        with open(series) as lines:
            names = [line.split('#')[0].strip() for line in lines]
    except OSError as exc:
        raise SourceError('%s: %s' % (series, exc.strerror))
    return [name for name in names if name]


def apply_series(tree, series):
    """Apply each patch listed in ``series`` to ``tree``; the names applied.

    Each patch is first tried with ``--dry-run`` so that one that no longer
    applies leaves the tree as it was and fails naming the patch.
    """
    directory = os.path.dirname(os.path.abspath(series))
    names = read_series(series)
    for name in names:
        patch = os.path.join(directory, name)
        if not os.path.isfile(patch):
            raise SourceError('%s: listed in %s but missing' % (name, series))
        for extra in (['--dry-run'], []):
            try:
                process.run(['patch', '-p1', '--forward', '--batch',
                             '--silent', '-d', tree, '-i', patch] + extra)
            except errors.CommandError as exc:
                raise PatchError(
                    'patch %s does not apply to the agent source: %s'
                    % (name, exc.tail(1).strip() or exc.returncode)) from None
    return names


def _check_action(args):
    check(args.location, args.ref)


def _fetch_action(args):
    fetch(args.location, args.dest, args.ref)
    if args.series:
        applied = apply_series(args.dest, args.series)
        print('appliance agent from %s: %d patches applied'
              % (args.location, len(applied)), file=sys.stderr)


def _parser():
    parser = argparse.ArgumentParser(
        prog='python -m akanda_slim.dib.appliance_source',
        description='Fetch the appliance agent and apply the patch series.')
    actions = parser.add_subparsers(dest='action', required=True)
    check_parser = actions.add_parser('check', help='refuse bad input')
    check_parser.set_defaults(run=_check_action)
    fetch_parser = actions.add_parser('fetch', help='fetch and patch')
    fetch_parser.set_defaults(run=_fetch_action)
    for sub in (check_parser, fetch_parser):
        sub.add_argument('location')
        if sub is fetch_parser:
            sub.add_argument('dest')
        sub.add_argument('--ref', default='')
    fetch_parser.add_argument('--series', help='patch series file')
    return parser


def main(argv=None):
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    return dib_entry.run(args.run, args)


if __name__ == '__main__':
    sys.exit(main())
