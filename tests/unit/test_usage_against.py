"""usage --against: what one workload read beyond another's."""

import io
import json
import os

import fixtures
import testtools

from akanda_slim import cli
from akanda_slim.footprint import usage


def report(**read):
    """A usage report whose packages read ``name=(files, kib)``."""
    return {'packages': [{'package': name, 'files_read': files,
                          'read_kib': kib, 'files': 99,
                          'installed_kib': 999, 'never_read_kib': 0}
                         for name, (files, kib) in sorted(read.items())]}


class ReadBeyondTest(testtools.TestCase):

    def test_packages_read_more_most_kib_first(self):
        boot = report(systemd=(40, 4000), python3=(10, 500))
        router = report(systemd=(40, 4000), python3=(60, 3000),
                        dnsmasq=(3, 400), bird2=(5, 100))
        beyond = usage.read_beyond(router, boot)
        self.assertEqual(['python3', 'dnsmasq', 'bird2'],
                         [e['package'] for e in beyond])
        self.assertEqual({'package': 'dnsmasq', 'files_read': 3,
                          'base_files_read': 0, 'read_kib': 400,
                          'base_read_kib': 0}, beyond[1])

    def test_text_lists_them(self):
        text = usage.format_text(dict(
            report(dnsmasq=(3, 400)), total_kib=1, read_kib=1,
            never_read_kib=0, kernel_modules={'present': 1, 'loaded': []},
            unowned={'files': 0, 'files_read': 0, 'installed_kib': 0,
                     'read_kib': 0}, never_read_paths=[], against='b.json',
            read_beyond=[{'package': 'dnsmasq', 'files_read': 3,
                          'base_files_read': 0, 'read_kib': 400,
                          'base_read_kib': 0}]))
        self.assertIn('packages read beyond b.json', text)
        self.assertRegex(text, r'dnsmasq +3 / +0 +400 / +0')


class AgainstArgumentTest(testtools.TestCase):

    def main(self, *argv):
        err = self.useFixture(fixtures.MonkeyPatch(
            'sys.stderr', io.StringIO())).new_value
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', io.StringIO()))
        return cli.main(['usage'] + list(argv)), err.getvalue()

    def test_bad_reports_are_one_line_exit_2(self):
        work = self.useFixture(fixtures.TempDir()).path
        cases = {'missing.json': None, 'text.json': 'not json',
                 'list.json': '[]', 'nopackages.json': '{}',
                 'badentry.json': json.dumps({'packages': [{'package': 1}]})}
        for name, content in cases.items():
            path = os.path.join(work, name)
            if content is not None:
                with open(path, 'w') as out:
                    out.write(content)
            code, err = self.main('--against', path, 'image.qcow2')
            self.assertEqual(2, code, name)
            self.assertEqual(1, len(err.strip().splitlines()), err)
            self.assertIn('--against %s' % path, err)
            self.assertNotIn('Traceback', err)
