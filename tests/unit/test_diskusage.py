"""One way to size a tree: du -sx, a hard-linked file once."""

import os
import subprocess

import fixtures
import testtools

from akanda_slim.footprint import composition
from akanda_slim.footprint import diskusage
from akanda_slim.footprint import image_report


def du_kib(root):
    """GNU du's own answer: the oracle."""
    output = subprocess.run(['du', '-sxk', root], check=True, text=True,
                            stdout=subprocess.PIPE).stdout
    return int(output.split()[0])


class DiskUsageTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.root = self.useFixture(fixtures.TempDir()).path
        data = os.path.join(self.root, 'usr/share/data')
        os.makedirs(data)
        with open(os.path.join(data, 'one-mib'), 'wb') as out:
            out.write(os.urandom(1024 * 1024))
        os.link(os.path.join(data, 'one-mib'),
                os.path.join(self.root, 'usr/share/data/again'))
        os.makedirs(os.path.join(self.root, 'usr/bin'))
        os.symlink('usr/bin', os.path.join(self.root, 'bin'))
        os.symlink('one-mib', os.path.join(data, 'link'))

    def test_total_equals_du(self):
        self.assertEqual(du_kib(self.root), diskusage.total_kib(self.root))

    def test_every_helper_gives_the_same_total(self):
        expected = du_kib(self.root)
        total, sizes = image_report.tree_usage(self.root)
        self.assertEqual(expected, total)
        self.assertEqual(expected,
                         composition.compose(self.root, 't').total_kib)
        # The directory holds the file once, not twice.
        self.assertLess(sizes['/usr/share/data'], 2 * 1024)
        self.assertGreaterEqual(sizes['/usr/share/data'], 1024)

    def test_hard_link_counted_on_the_first_sorted_path(self):
        kib = {path: size for path, size, _info in
               diskusage.entries(self.root)}
        self.assertEqual(0, kib['usr/share/data/one-mib'])
        self.assertGreaterEqual(kib['usr/share/data/again'], 1024)
