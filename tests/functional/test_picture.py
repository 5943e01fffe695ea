"""akanda-slim picture on the real baseline and slim images of this run.

Writes composition.svg (and, where rsvg-convert exists, composition.png)
into the image work directory.
"""

import json
import os
import shutil
import subprocess
import sys
from xml.etree import ElementTree

import testtools

from akanda_slim.footprint import composition
from tests.functional import images

SKIP_REASON = images.why_not_runnable()


@testtools.skipIf(SKIP_REASON, SKIP_REASON)
class PictureTest(testtools.TestCase):

    def test_composition_of_baseline_and_slim(self):
        baseline, slim = images.baseline_image(), images.slim_image()
        output = os.path.join(images.workdir(), 'composition.svg')
        result = subprocess.run(
            [sys.executable, '-m', 'akanda_slim', 'picture', '--json',
             '--names', 'baseline', 'slim', '-o', output,
             baseline.image, slim.image],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.assertEqual(0, result.returncode, result.stderr)
        figures = {c['name']: c for c in json.loads(result.stdout)}
        for name, image in (('baseline', baseline), ('slim', slim)):
            comp = figures[name]
            self.assertEqual(comp['total_kib'],
                             sum(comp['categories'].values()))
            # The same tree du measured when the image was read.
            self.assertLess(abs(comp['total_kib'] - image.tree_kib),
                            image.tree_kib * 0.01)
            self.assertEqual(set(composition.CATEGORIES),
                             set(comp['categories']))
        self.assertLess(figures['slim']['categories']['docs and locales'],
                        figures['baseline']['categories']['docs and locales'])
        tree = ElementTree.parse(output)
        self.assertTrue(tree.getroot().tag.endswith('svg'))
        print('wrote %s; categories (MiB) baseline -> slim: %s' % (
            output, ', '.join('%s %.1f -> %.1f' % (
                n, figures['baseline']['categories'][n] / 1024.0,
                figures['slim']['categories'][n] / 1024.0)
                for n in composition.CATEGORIES)))
        if shutil.which('rsvg-convert'):
            subprocess.run(['rsvg-convert', output, '-o',
                            output[:-4] + '.png'], check=True)
