import os
from xml.etree import ElementTree

import fixtures
import testtools

from akanda_slim.footprint import composition
from akanda_slim.footprint import svg


class CategoryTest(testtools.TestCase):

    def test_paths_decide_before_packages(self):
        self.assertEqual('docs and locales', composition.category(
            '/usr/share/doc/dnsmasq/changelog.gz', 'dnsmasq'))
        self.assertEqual('kernel', composition.category(
            '/boot/initrd.img-6.12', None))
        self.assertEqual('Python', composition.category(
            '/usr/lib/python3/dist-packages/x.py', None))

    def test_packages(self):
        cases = {'linux-image-6.12.1-cloud-amd64': 'kernel',
                 'python3-flask': 'Python', 'libpython3.13-stdlib': 'Python',
                 'gunicorn': 'Python', 'bird2': 'router stack',
                 'libip4tc2': 'router stack', 'keepalived': 'router stack',
                 'coreutils': 'everything else'}
        router = composition.router_packages(
            '/nonexistent', composition.declared_router_packages())
        router.add('libip4tc2')
        for package, expected in cases.items():
            self.assertEqual(expected, composition.category(
                '/usr/bin/x', package, router), package)

    def test_router_stack_is_the_element_list(self):
        declared = composition.declared_router_packages()
        self.assertIn('keepalived', declared)
        self.assertIn('cloud-init', declared)
        self.assertEqual('router stack', composition.category(
            '/usr/sbin/x', 'keepalived', set(declared)))


class ComposeTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.root = self.useFixture(fixtures.TempDir()).path

    def write(self, path, size):
        full = os.path.join(self.root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, 'wb') as out:
            out.write(b'x' * size)
        return full

    def test_files_attributed_once_and_totals_add_up(self):
        self.write('usr/sbin/dnsmasq', 64 * 1024)
        self.write('usr/share/doc/dnsmasq/README', 16 * 1024)
        self.write('bin/legacy', 8 * 1024)
        linked = self.write('usr/bin/tool', 32 * 1024)
        os.link(linked, os.path.join(self.root, 'usr/bin/tool-again'))
        info = os.path.join(self.root, 'var/lib/dpkg/info')
        os.makedirs(info)
        with open(os.path.join(info, 'dnsmasq.list'), 'w') as out:
            out.write('/usr/sbin/dnsmasq\n/usr/share/doc/dnsmasq/README\n')
        with open(os.path.join(info, 'tools:amd64.list'), 'w') as out:
            out.write('/usr/bin/tool\n/bin/legacy\n')
        result = composition.compose(self.root, 'test',
                                     declared=['dnsmasq'])
        self.assertEqual('test', result.name)
        self.assertEqual(result.total_kib, sum(result.categories.values()))
        self.assertEqual(80, result.packages['dnsmasq'])
        self.assertEqual(40, result.packages['tools'])
        self.assertGreaterEqual(result.categories['router stack'], 64)
        self.assertGreaterEqual(result.categories['docs and locales'], 16)
        self.assertEqual([('dnsmasq', 80), ('tools', 40)],
                         result.top_packages(2))


class SvgTest(testtools.TestCase):

    def test_renders_valid_svg_with_every_category(self):
        comps = [composition.Composition(
            name, sum(sizes), dict(zip(composition.CATEGORIES, sizes)),
            {'linux-image-x': sizes[0], 'libc6': sizes[4]})
            for name, sizes in (('baseline', (100, 80, 20, 50, 300)),
                                ('slim', (30, 80, 20, 5, 150)))]
        document = svg.render(comps, 'a <title> & more')
        tree = ElementTree.fromstring(document.encode())
        texts = [t.text for t in tree.iter('{http://www.w3.org/2000/svg}text')]
        self.assertIn('a <title> & more', texts)
        for name in composition.CATEGORIES:
            self.assertIn(name, texts)
        self.assertIn('550.0 MiB'.replace('550.0', '%.1f' % (550 / 1024.0)),
                      texts)

    def test_long_package_names_keep_their_end(self):
        generic = svg.short_label('linux-image-6.12.118+deb13-amd64')
        cloud = svg.short_label('linux-image-6.12.118+deb13-cloud-amd64')
        self.assertEqual(26, len(generic))
        self.assertTrue(generic.endswith('deb13-amd64'))
        self.assertTrue(cloud.endswith('cloud-amd64'))
        self.assertEqual('libc6', svg.short_label('libc6'))

    def test_never_read_bytes_are_shaded(self):
        comps = [composition.Composition(
            name, 500, dict(zip(composition.CATEGORIES,
                                (100, 100, 100, 100, 100))),
            {'ieee-data': 200, 'libc6': 300}) for name in ('a', 'b')]
        comps[1].add_usage({'never_read_kib': 250, 'packages': [
            {'package': 'ieee-data', 'never_read_kib': 200},
            {'package': 'libc6', 'never_read_kib': 50}]})
        document = svg.render(comps, 'usage')
        tree = ElementTree.fromstring(document.encode())
        shaded = [r.find('{http://www.w3.org/2000/svg}title').text
                  for r in tree.iter('{http://www.w3.org/2000/svg}rect')
                  if r.get('fill') == 'url(#never-read)']
        self.assertEqual(['never read: 0.2 MiB',
                          'libc6 never read: 0.0 MiB',
                          'ieee-data never read: 0.2 MiB'], shaded)
        self.assertEqual(250, comps[1].to_dict()['never_read_kib'])
        self.assertNotIn('never_read_kib', comps[0].to_dict())
