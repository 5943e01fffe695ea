"""imagefs runs its programs through process.run: one-line errors."""

import os
import shutil
import subprocess

import fixtures
import testtools

from akanda_slim import errors
from akanda_slim.footprint import imagefs


class PartitionOffsetTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.raw = os.path.join(self.dir, 'disk.raw')
        with open(self.raw, 'wb') as out:
            out.truncate(8 * 1024 * 1024)

    def fake(self, name, script):
        bin_dir = os.path.join(self.dir, 'bin')
        os.makedirs(bin_dir, exist_ok=True)
        path = os.path.join(bin_dir, name)
        with open(path, 'w') as out:
            out.write('#!/bin/sh\n' + script)
        os.chmod(path, 0o755)
        self.useFixture(fixtures.EnvironmentVariable(
            'PATH', bin_dir + os.pathsep + os.environ['PATH']))

    def test_no_partition_table_is_offset_zero(self):
        if not shutil.which('sfdisk'):
            self.skipTest('sfdisk (fdisk package) is not installed')
        self.assertEqual(0, imagefs.largest_partition_offset(self.raw))

    def test_largest_partition(self):
        if not shutil.which('sfdisk'):
            self.skipTest('sfdisk (fdisk package) is not installed')
        subprocess.run(['sfdisk', '-q', self.raw], check=True, text=True,
                       input='2048,4096\n8192,\n',
                       stdout=subprocess.DEVNULL)
        self.assertEqual(8192 * 512,
                         imagefs.largest_partition_offset(self.raw))

    def test_failed_sfdisk_is_an_error_not_offset_zero(self):
        self.fake('sfdisk', 'echo "sfdisk: cannot open $2: I/O error" >&2\n'
                  'exit 1\n')
        exc = self.assertRaises(errors.CommandError,
                                imagefs.largest_partition_offset, self.raw)
        self.assertIn('I/O error', str(exc))

    def test_garbage_output_is_an_error(self):
        self.fake('sfdisk', 'echo not json\n')
        self.assertRaises(errors.CommandError,
                          imagefs.largest_partition_offset, self.raw)

    def test_missing_qemu_img_is_named(self):
        self.useFixture(fixtures.EnvironmentVariable('PATH', self.dir))
        exc = self.assertRaises(errors.MissingToolError, imagefs._run,
                                ['qemu-img', 'convert'])
        self.assertEqual('qemu-img: program not found', str(exc))
