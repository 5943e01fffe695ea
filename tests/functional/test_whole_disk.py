"""The slim image as a whole disk: DIB's ``vm`` element with ``slim``.

``vm`` partitions a disk and installs a bootloader; the slim step must keep
the bootloader packages. Without device-mapper (this project's CI machines:
no /dev/mapper/control) DIB fails at partitioning, after ``post-root.d``,
where the slim report is already written: the test checks the report then.
With device-mapper the build completes and the same checks apply.
Needs root, diskimage-builder and the host's Debian mirror.
"""

import json
import os

import testtools
from testtools import content

from akanda_slim.dib import image_build
from akanda_slim import errors
from tests.functional import images

SKIP_REASON = images.why_not_runnable()
BOOTLOADER_PREFIXES = ('grub', 'shim', 'efibootmgr')


@testtools.skipIf(SKIP_REASON, SKIP_REASON)
class WholeDiskTest(testtools.TestCase):

    def test_slim_keeps_the_bootloader(self):
        whole_disk_works = image_build.device_mapper_works()
        elements = image_build.image_elements(whole_disk=True, agent=False)
        self.assertIn('vm', elements)
        work = images.workdir()
        log = os.path.join(work, 'slim-vm.log')
        try:
            image_build.build(work, 'slim-vm', elements,
                              release=images.RELEASE, log_path=log)
            built = True
        except errors.BuildError:
            built = False
        with open(log, errors='replace') as text:
            output = text.read()
        self.addDetail('build log tail', content.text_content(
            output[-4000:]))
        self.assertEqual(whole_disk_works, built,
                         'device-mapper %s, build %s' % (
                             'works' if whole_disk_works else 'absent',
                             'succeeded' if built else 'failed'))
        if not built:
            # It got as far as this host allows: partitioning.
            self.assertIn('kpartx', output)
        report_path = os.path.join(work, 'slim-vm.slim.json')
        self.assertTrue(os.path.exists(report_path),
                        'no slim report: the build failed before post-root.d')
        with open(report_path) as data:
            report = json.load(data)
        self.assertTrue(report['applied'])
        self.assertEqual([], report['verification']['broken_dependencies'])
        kept = {p['package'] for p in report['packages']}
        removed = {p['package'] for p in report['removed_packages']}
        bootloader = sorted(p for p in kept | removed
                            if p.startswith(BOOTLOADER_PREFIXES))
        # Nothing of the bootloader goes; DIB's bootloader element installs
        # grub itself later, in finalise.d, so it may not be there yet.
        self.assertEqual([], sorted(removed.intersection(bootloader)))
        print('whole disk (%s): bootloader packages at the slim step: %s' % (
            'built' if built else 'stopped at partitioning, no '
            'device-mapper', ', '.join(bootloader) or 'none yet'))
        # finalise.d's install-packages (apt-get install, no update) needs
        # the apt lists: the slim step keeps them for the bootloader element
        # and finalise.d/99-slim-apt-lists drops them after it.
        self.assertNotIn('apt lists and caches', [
            name for name, kib in report['pruned_files_kib'].items() if kib])
