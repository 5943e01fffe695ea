import random

from akanda_slim.debian import dpkg_status
from akanda_slim.debian import relations
from akanda_slim import errors
import testtools


class ParseFieldTest(testtools.TestCase):

    def test_alternatives_versions_and_qualifiers(self):
        groups = relations.parse_field(
            'libc6 (>= 2.36), python3:any | python3-minimal (<< 3.14~),'
            ' perl:native', 'Depends', 'p')
        self.assertEqual(3, len(groups))
        self.assertEqual(relations.Relation('libc6', None, '>=', '2.36'),
                         groups[0][0])
        self.assertEqual('any', groups[1][0].archqual)
        self.assertEqual(('<<', '3.14~'), groups[1][1][2:])
        self.assertEqual('native', groups[2][0].archqual)

    def test_malformed_relation_is_an_error(self):
        for text in ('libc6 (>= )', 'lib c6', 'libc6 (=> 2', 'Libc6,,x'):
            self.assertRaises(errors.StatusError, relations.parse_field,
                              text, 'Depends', 'p')

    def test_error_names_package_and_field(self):
        exc = self.assertRaises(errors.StatusError, relations.parse_field,
                                'a (~ 1)', 'Recommends', 'mypkg')
        self.assertIn('mypkg', str(exc))
        self.assertIn('Recommends', str(exc))

    def test_provides_only_equal_versions(self):
        provided = relations.parse_provides('mail-transport-agent, '
                                            'libfoo-abi (= 3)', 'p')
        self.assertEqual([None, '3'], [p.version for p in provided])
        # dpkg only warns about a non-'=' relation in Provides.
        self.assertEqual('=', relations.parse_provides('foo (>= 1)',
                                                       'p')[0].op)
        self.assertRaises(errors.StatusError, relations.parse_provides,
                          'foo | bar', 'p')


class VersionTest(testtools.TestCase):

    def test_operators(self):
        sat = relations.version_satisfies
        self.assertTrue(sat('1.0', None, None))
        self.assertTrue(sat('1:0.9', '>=', '2.0'))  # epoch wins
        self.assertTrue(sat('1.0~rc1', '<<', '1.0'))  # tilde sorts first
        self.assertFalse(sat('1.0', '>>', '1.0'))
        self.assertTrue(sat('1.0', '=', '1.0'))
        self.assertTrue(sat('1.0-1', '<=', '1.0-2'))
        self.assertFalse(sat('1.0-3', '<<', '1.0-2'))
        self.assertTrue(sat('2', '>', '1'))  # obsolete > means >=
        self.assertFalse(sat(None, '=', '1'))

    def test_format_group(self):
        group = relations.parse_field('a:any (>= 1) | b', 'Depends', 'p')[0]
        self.assertEqual('a:any (>= 1) | b', relations.format_group(group))


class CompareVersionsTest(testtools.TestCase):
    """Our dpkg version comparison equals python-debian's, on many pairs."""

    SAMPLES = ['1', '1.0', '1.0-1', '1.0-1~bpo1', '1.0~rc1', '1.0~~',
               '1.0+dfsg', '1:0.9', '2:1', '0:1.0', '1.0a', '1.0-0',
               '1.00', '1.0.0', '1.0-1.1', '10', '9', '1~', '1+', '1.',
               'a', 'a1', '1a', '1-a', '1-1a', '1:1-1~', '3.14~', '6.1.8',
               '2.36-9+deb12u4', '2.36-9+deb12u10', '1.2.3-4ubuntu1',
               '0.0', '0', '00', '1-', '1.0--1', '5:1.0+git20200101']

    def test_agrees_with_python_debian(self):
        from debian import debian_support
        rng = random.Random(7)
        pairs = [(a, b) for a in self.SAMPLES for b in self.SAMPLES]
        alphabet = '0123456789.~+-ab:'
        for _ in range(3000):
            pairs.append(tuple(
                rng.choice('123') + ''.join(rng.choice(alphabet) for _ in
                                            range(rng.randint(0, 8)))
                for _ in range(2)))
        compared = 0
        for left, right in pairs:
            if dpkg_status.version_problem(left) or \
                    dpkg_status.version_problem(right):
                continue   # dpkg refuses it before comparing
            expected = debian_support.version_compare(left, right)
            got = relations.compare_versions(left, right)
            self.assertEqual((expected > 0) - (expected < 0),
                             (got > 0) - (got < 0), (left, right))
            compared += 1
        self.assertGreater(compared, 2000)

    def test_epochs(self):
        self.assertGreater(relations.compare_versions('1:0.1', '9.9'), 0)
        self.assertLess(relations.compare_versions('1.0~rc1', '1.0'), 0)
        self.assertEqual(0, relations.compare_versions('1.0', '0:1.0'))
