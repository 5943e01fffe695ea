import io
import json
import os

import fixtures

from akanda_slim import cli
from akanda_slim import errors
from akanda_slim.footprint import package_diff
from tests.unit import base

S = base.stanza


class DiffTest(base.RootTestCase):

    def report(self, packages):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'img.slim.json')
        with open(path, 'w') as out:
            json.dump({'tool': 'akanda-slim', 'packages': [
                {'package': n, 'version': v, 'installed_size_kib': k}
                for n, v, k in packages]}, out)
        return path

    def test_root_against_report_biggest_first(self):
        old = self.make_root(S('a', Installed_Size='10'),
                             S('b', Installed_Size='500'),
                             S('c', version='1.0', Installed_Size='100'))
        new = self.report([('a', '1.0', 10), ('c', '2.0', 130),
                           ('d', '1.0', 40)])
        result = package_diff.compare(old, new)
        self.assertEqual([('b', 'removed', -500), ('d', 'added', 40),
                          ('c', 'changed', 30)],
                         [(c.package, c.change, c.delta_kib)
                          for c in result.changes])
        data = result.to_dict()
        self.assertEqual(-430, data['totals']['delta_kib'])
        self.assertEqual({'packages': 3, 'installed_size_kib': 610},
                         data['totals']['a'])
        self.assertEqual('1.0', data['changes'][2]['old_version'])
        self.assertEqual('2.0', data['changes'][2]['new_version'])

    def test_identical_sides(self):
        path = self.report([('a', '1', 1)])
        self.assertEqual([], package_diff.compare(path, path).changes)
        self.assertIn('no package differences',
                      package_diff.diff_text(package_diff.compare(path, path)))

    def test_bad_inputs_are_clear_errors(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        junk = os.path.join(tmp, 'junk.json')
        with open(junk, 'w') as out:
            out.write('{"tool": "x"}')
        fifo = os.path.join(tmp, 'fifo')
        os.mkfifo(fifo)
        cases = [(os.path.join(tmp, 'missing'), 'No such file'),
                 (junk, 'neither an image report'),
                 (fifo, 'not a regular file'),
                 ('/dev/zero', 'not a regular file')]
        for number, (text, words) in enumerate((
                ('{"packages": [{"package": "a"', 'neither an image report'),
                ('[' * 100000, 'neither an image report'),
                ('{"packages": [{"package": "a", "version": "1"}]}',
                 'entry 1 lacks'),
                ('{"packages": [1]}', 'entry 1 lacks'),
                ('{"packages": [{"package": "a", "version": "1", '
                 '"installed_size_kib": 1e400}]}', 'an integer from 0'),
                ('{"packages": [{"package": "a", "version": "1", '
                 '"installed_size_kib": -1}]}', 'an integer from 0'))):
            path = os.path.join(tmp, 'bad%d.json' % number)
            with open(path, 'w') as out:
                out.write(text)
            cases.append((path, words))
        for path, words in cases:
            exc = self.assertRaises(errors.UsageError, package_diff.load, path)
            self.assertIn(words, str(exc))
            self.assertEqual(2, exc.exit_code)

    def test_command_json(self):
        a = self.report([('a', '1', 1)])
        b = self.report([('a', '2', 3)])
        out = self.useFixture(fixtures.MonkeyPatch(
            'sys.stdout', io.StringIO())).new_value
        self.assertEqual(0, cli.main(['diff', a, b, '--json']))
        data = json.loads(out.getvalue())
        self.assertEqual([{'package': 'a', 'change': 'changed',
                           'old_version': '1', 'new_version': '2',
                           'old_kib': 1, 'new_kib': 3, 'delta_kib': 2}],
                         data['changes'])
