"""The appliance agent's source: locations, refusals, fetch and patching."""

import contextlib
import io
import os
import subprocess
import tarfile

import fixtures
import testtools

from akanda_slim.dib import appliance_source as source

MARKER = source.AGENT_MARKER


def make_tree(path, marker=True):
    """A minimal agent-looking tree at ``path``; returns it."""
    os.makedirs(os.path.join(path, 'astara_router/api'))
    if marker:
        with open(os.path.join(path, MARKER), 'w') as out:
            out.write('app = None\n')
    with open(os.path.join(path, 'README'), 'w') as out:
        out.write('one\ntwo\nthree\n')
    return path


def add_member(tar, name, kind=tarfile.REGTYPE, data=b'', linkname=''):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    tar.addfile(info, io.BytesIO(data) if info.size else None)


class SourceTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.work = self.useFixture(fixtures.TempDir()).path

    def tarball(self, extra=(), marker=True, name='agent.tar.gz'):
        path = os.path.join(self.work, name)
        with tarfile.open(path, 'w:gz') as tar:
            add_member(tar, 'astara-appliance', tarfile.DIRTYPE)
            if marker:
                add_member(tar, 'astara-appliance/' + MARKER, data=b'x\n')
            for member in extra:
                add_member(tar, **member)
        return path

    def git_repository(self):
        path = make_tree(os.path.join(self.work, 'repo'))
        identity = ['-c', 'user.name=t', '-c', 'user.email=t@localhost']
        for command in (['init', '-q', '-b', 'main'], ['add', '.'],
                        identity + ['commit', '-q', '-m', 'one'],
                        ['tag', 'v1'], ['rm', '-q', 'README'],
                        identity + ['commit', '-q', '-m', 'two']):
            subprocess.run(['git', '-C', path] + command, check=True,
                           stdout=subprocess.DEVNULL)
        return path

    def assertRefused(self, location, ref=None, text=''):
        exc = self.assertRaises(source.SourceError, source.check,
                                location, ref)
        self.assertEqual(2, exc.exit_code)
        self.assertNotIn('\n', str(exc))
        self.assertIn(text, str(exc))
        return exc


class KindTest(SourceTestCase):

    def test_kinds(self):
        self.assertEqual('tarball', source.check(self.tarball()))
        tree = make_tree(os.path.join(self.work, 'tree'))
        self.assertEqual('directory', source.check(tree))
        self.assertEqual('git', source.check(self.git_repository()))
        self.assertEqual('git-url',
                         source.kind_of('https://git.example.org/a.git'))
        self.assertEqual('git-url', source.kind_of('git@example.org:a.git'))

    def test_every_tarball_suffix(self):
        for suffix in source.TARBALL_SUFFIXES:
            path = os.path.join(self.work, 'agent' + suffix)
            os.rename(self.tarball(), path)
            self.assertEqual('tarball', source.kind_of(path))


class RefusalTest(SourceTestCase):

    def test_missing_location_says_what_to_set(self):
        self.assertRefused('', text=source.LOCATION_VARIABLE)

    def test_nonexistent_path(self):
        self.assertRefused(os.path.join(self.work, 'nothing'),
                           text='no such file')

    def test_file_that_is_not_a_tarball(self):
        path = os.path.join(self.work, 'agent.zip')
        open(path, 'w').close()
        self.assertRefused(path, text='not a tarball')

    def test_unreadable_tarball(self):
        path = os.path.join(self.work, 'agent.tar.gz')
        with open(path, 'w') as out:
            out.write('not gzip')
        self.assertRefused(path, text='unreadable')

    def test_absolute_member(self):
        self.assertRefused(self.tarball([{'name': '/etc/cron.d/x'}]),
                           text='escapes')

    def test_dotdot_member(self):
        self.assertRefused(
            self.tarball([{'name': 'astara-appliance/../../x'}]),
            text='escapes')

    def test_symlink_pointing_out(self):
        for target in ('../../etc/passwd', '/etc/passwd', '..'):
            member = {'name': 'astara-appliance/link',
                      'kind': tarfile.SYMTYPE, 'linkname': target}
            self.assertRefused(self.tarball([member]), text='points outside')

    def test_hardlink_pointing_out(self):
        member = {'name': 'astara-appliance/hard', 'kind': tarfile.LNKTYPE,
                  'linkname': 'other/file'}
        self.assertRefused(self.tarball([member]), text='points outside')

    def test_link_inside_is_accepted(self):
        members = [{'name': 'astara-appliance/link', 'kind': tarfile.SYMTYPE,
                    'linkname': 'astara_router/api/server.py'},
                   {'name': 'astara-appliance/hard', 'kind': tarfile.LNKTYPE,
                    'linkname': 'astara-appliance/' + MARKER}]
        self.assertEqual('tarball', source.check(self.tarball(members)))

    def test_device_nodes_and_fifos(self):
        for kind in (tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE):
            member = {'name': 'astara-appliance/dev', 'kind': kind}
            self.assertRefused(self.tarball([member]), text='device node')

    def test_two_top_directories(self):
        self.assertRefused(self.tarball([{'name': 'other/file'}]),
                           text='one top directory')

    def test_tarball_without_the_agent(self):
        self.assertRefused(self.tarball(marker=False), text=MARKER)

    def test_directory_without_the_agent(self):
        tree = make_tree(os.path.join(self.work, 'tree'), marker=False)
        self.assertRefused(tree, text=MARKER)

    def test_ref_with_a_tarball_or_directory(self):
        tree = make_tree(os.path.join(self.work, 'tree'))
        for location in (self.tarball(), tree):
            self.assertRefused(location, 'main', text=source.REF_VARIABLE)

    def test_git_repository_without_the_ref(self):
        self.assertRefused(self.git_repository(), 'nope', text='no such ref')

    def test_git_repository_without_the_agent(self):
        repo = self.git_repository()
        subprocess.run(['git', '-C', repo, '-c', 'user.name=t', '-c',
                        'user.email=t@localhost', 'rm', '-q', MARKER],
                       check=True)
        subprocess.run(['git', '-C', repo, '-c', 'user.name=t', '-c',
                        'user.email=t@localhost', 'commit', '-q', '-m', 'x'],
                       check=True)
        self.assertRefused(repo, text=MARKER)
        self.assertEqual('git', source.check(repo, 'v1'))

    def test_command_line_refusal_is_one_line_exit_2(self):
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            code = source.main(['check', os.path.join(self.work, 'none')])
        self.assertEqual(2, code)
        self.assertEqual(1, len(stderr.getvalue().strip().splitlines()))


class FetchTest(SourceTestCase):

    def test_tarball(self):
        dest = os.path.join(self.work, 'out', 'agent')
        self.assertEqual('tarball', source.fetch(self.tarball(), dest))
        self.assertTrue(os.path.isfile(os.path.join(dest, MARKER)))
        self.assertEqual(['agent'], os.listdir(os.path.dirname(dest)))

    def test_directory(self):
        tree = make_tree(os.path.join(self.work, 'tree'))
        dest = os.path.join(self.work, 'agent')
        source.fetch(tree, dest)
        self.assertTrue(os.path.isfile(os.path.join(dest, 'README')))

    def test_git_head_and_ref(self):
        repo = self.git_repository()
        head = os.path.join(self.work, 'head')
        source.fetch(repo, head)
        self.assertFalse(os.path.exists(os.path.join(head, 'README')))
        self.assertFalse(os.path.exists(os.path.join(head, '.git')))
        tagged = os.path.join(self.work, 'tagged')
        source.fetch('file://' + repo, tagged, 'v1')
        self.assertTrue(os.path.exists(os.path.join(tagged, 'README')))

    def test_git_url_that_cannot_be_cloned(self):
        exc = self.assertRaises(
            source.SourceError, source.fetch,
            'file://' + os.path.join(self.work, 'none.git'),
            os.path.join(self.work, 'agent'))
        self.assertIn('git clone failed', str(exc))
        self.assertNotIn('\n', str(exc))
        self.assertEqual([], [n for n in os.listdir(self.work)
                              if n.startswith('.appliance-source-')])

    def test_existing_destination(self):
        dest = os.path.join(self.work, 'agent')
        os.mkdir(dest)
        self.assertRaises(source.SourceError, source.fetch, self.tarball(),
                          dest)


class SeriesTest(SourceTestCase):

    def setUp(self):
        super().setUp()
        self.tree = make_tree(os.path.join(self.work, 'tree'))
        self.patches = os.path.join(self.work, 'patches')
        os.mkdir(self.patches)

    def write_patch(self, name, old, new):
        with open(os.path.join(self.patches, name), 'w') as out:
            out.write('Description: test\nUpstream files: README\n---\n'
                      '--- a/README\n+++ b/README\n@@ -1,3 +1,3 @@\n'
                      ' one\n-%s\n+%s\n three\n' % (old, new))

    def write_series(self, *names):
        series = os.path.join(self.patches, 'series')
        with open(series, 'w') as out:
            out.write('# comment\n\n' + '\n'.join(names) + '\n')
        return series

    def readme(self):
        with open(os.path.join(self.tree, 'README')) as text:
            return text.read()

    def test_applies_in_order(self):
        self.write_patch('0001-a.patch', 'two', 'TWO')
        self.write_patch('0002-b.patch', 'TWO', '2')
        series = self.write_series('0001-a.patch', '0002-b.patch')
        self.assertEqual(['0001-a.patch', '0002-b.patch'],
                         source.apply_series(self.tree, series))
        self.assertEqual('one\n2\nthree\n', self.readme())

    def test_patch_that_no_longer_applies_is_named(self):
        self.write_patch('0001-a.patch', 'two', 'TWO')
        self.write_patch('0002-stale.patch', 'deux', 'zwei')
        series = self.write_series('0001-a.patch', '0002-stale.patch')
        exc = self.assertRaises(source.PatchError, source.apply_series,
                                self.tree, series)
        self.assertIn('0002-stale.patch', str(exc))
        self.assertNotIn('\n', str(exc))
        # The dry run left the tree as the first patch made it.
        self.assertEqual('one\nTWO\nthree\n', self.readme())
        self.assertEqual([], [n for n in os.listdir(self.tree)
                              if n.endswith(('.rej', '.orig'))])

    def test_patch_already_applied_fails(self):
        self.write_patch('0001-a.patch', 'two', 'TWO')
        series = self.write_series('0001-a.patch')
        source.apply_series(self.tree, series)
        self.assertRaises(source.PatchError, source.apply_series,
                          self.tree, series)

    def test_listed_patch_missing(self):
        series = self.write_series('0001-gone.patch')
        exc = self.assertRaises(source.SourceError, source.apply_series,
                                self.tree, series)
        self.assertIn('0001-gone.patch', str(exc))

    def test_fetch_command_applies_the_series(self):
        self.write_patch('0001-a.patch', 'two', 'TWO')
        series = self.write_series('0001-a.patch')
        dest = os.path.join(self.work, 'agent')
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            code = source.main(['fetch', self.tree, dest,
                                '--series', series])
        self.assertEqual(0, code, stderr.getvalue())
        with open(os.path.join(dest, 'README')) as text:
            self.assertIn('TWO', text.read())
