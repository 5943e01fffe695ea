import json
import os
import subprocess
import sys

import fixtures

from akanda_slim import errors
from akanda_slim.slim import apply_journal
from akanda_slim.slim import chroot
from akanda_slim.slim import mountinfo
from akanda_slim.slim import policy
from akanda_slim.slim import purge
from tests.unit import base

BOOT_ID = '0b7e4ec4-52a5-4ad4-9e0c-7d5bb0e8a1f3'
NONCE = '5f' * 16


def record_text(**changes):
    """A run record as apply writes it, with ``changes`` (raw JSON)."""
    fields = {'pid': '4242', 'started': '1700000000.5',
              'boot_id': json.dumps(BOOT_ID), 'nonce': json.dumps(NONCE),
              'mounts': '[{"name": "proc", "mount_id": 42}]',
              'policy_rc_d': 'null', 'purge': '["bash"]'}
    fields.update(changes)
    return '{%s}' % ', '.join('"%s": %s' % item for item in fields.items())


class RunRecordTest(base.RootTestCase):

    def test_round_trip_and_removal_when_empty(self):
        root = self.make_root()
        record = apply_journal.RunRecord(root)
        record.mounts.append({'name': 'proc', 'mount_id': 42})
        record.save()
        loaded = apply_journal.RunRecord.load(root)
        self.assertEqual(([{'name': 'proc', 'mount_id': 42}], os.getpid()),
                         (loaded.mounts, loaded.pid))
        record.mounts = []
        record.save()
        self.assertIsNone(apply_journal.RunRecord.load(root))
        self.assertFalse(os.path.exists(os.path.join(
            root, apply_journal.RECORD_DIR)))

    def test_malformed_record_is_an_input_error(self):
        root = self.make_root()
        os.makedirs(os.path.join(root, apply_journal.RECORD_DIR))
        for text in ('{', '[]', '{"pid": 1}',
                     '{"pid": 1, "started": 0, "mounts": [{"name": "etc", '
                     '"mount_id": 1}], "policy_rc_d": null, "purge": null}'):
            with open(os.path.join(root, apply_journal.RECORD_FILE), 'w') as f:
                f.write(text)
            exc = self.assertRaises(errors.InputError,
                                    apply_journal.RunRecord.load, root)
            self.assertIn('is not one akanda-slim apply writes', str(exc))

    def test_record_directory_symlink_stays_inside(self):
        root = self.make_root()
        outside = self.make_root()
        os.symlink(outside, os.path.join(root, 'var/lib/akanda-slim'))
        record = apply_journal.RunRecord(root, purge=['x'])
        record.save()
        self.assertEqual([], [n for n in os.listdir(outside)
                              if n != 'var' and n != 'etc'])
        self.assertFalse(os.path.exists(os.path.join(
            outside, 'apply-run.json')))
        self.assertEqual(['x'], apply_journal.RunRecord.load(root).purge)


class HostileRecordTest(base.RootTestCase):
    """Records apply did not write: refused before anything runs."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MockPatch(
            'akanda_slim.slim.apply_journal.current_boot_id',
            return_value=BOOT_ID))

    def write(self, root, text):
        os.makedirs(os.path.join(root, apply_journal.RECORD_DIR),
                    exist_ok=True)
        with open(os.path.join(root, apply_journal.RECORD_FILE), 'w') as out:
            out.write(text)

    def test_a_valid_record_loads(self):
        root = self.make_root()
        self.write(root, record_text())
        record = apply_journal.RunRecord.load(root)
        self.assertEqual((['bash'], 'akanda-slim-' + NONCE, True),
                         (record.purge, record.mount_source,
                          record.this_boot()))

    def hostile(self):
        return {
            'pid Infinity': record_text(pid='Infinity'),
            'mount_id 1e999': record_text(
                mounts='[{"name": "proc", "mount_id": 1e999}]'),
            'nested 30000 deep': record_text(purge='[' * 30000
                                             + ']' * 30000),
            'purge a string': record_text(purge='"bash"'),
            'purge an option': record_text(purge='["--force-all"]'),
            'pid a float': record_text(pid='4242.0'),
            'saved not a boolean': record_text(policy_rc_d='{"saved": 1}'),
            'no boot id (an earlier version)': record_text().replace(
                '"boot_id": "%s", ' % BOOT_ID, ''),
        }

    def test_hostile_records_are_one_line_input_errors(self):
        root = self.make_root()
        for name, text in self.hostile().items():
            self.write(root, text)
            exc = self.assertRaises(errors.InputError,
                                    apply_journal.RunRecord.load, root)
            self.assertIn('remove the file and run apply again', str(exc),
                          name)
            self.assertNotIn('\n', str(exc), name)

    def test_apply_refuses_before_anything_runs_and_keeps_the_record(self):
        entered = []
        self.useFixture(fixtures.MockPatch(
            'akanda_slim.slim.purge.chroot_mod.Chroot',
            side_effect=lambda *a: entered.append(a)))
        self.useFixture(fixtures.MockPatch(
            'akanda_slim.slim.purge.chroot_mod.recover',
            side_effect=lambda *a: entered.append(a)))
        root = self.make_root(base.stanza('bash'))
        for name, text in self.hostile().items():
            self.write(root, text)
            exc = self.assertRaises(errors.InputError, purge.apply, root,
                                    policy.Policy(), lock_timeout=0)
            self.assertIn('nothing was done', str(exc), name)
            self.assertEqual([], entered, name)
            with open(os.path.join(root, apply_journal.RECORD_FILE)) as saved:
                self.assertEqual(text, saved.read(), name)

    def test_apply_says_it_in_one_line_and_exits_2(self):
        root = self.make_root(base.stanza('bash'))
        self.write(root, record_text(purge='"bash"'))
        child = subprocess.run(
            [sys.executable, '-m', 'akanda_slim', 'apply', '--root', root,
             '--lock-timeout', '0'], stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True, timeout=60)
        self.assertEqual(2, child.returncode, child.stderr)
        self.assertEqual(1, len(child.stderr.strip().splitlines()),
                         child.stderr)


class ForgedRecordTest(base.RootTestCase):
    """A record naming mounts apply did not make unmounts nothing."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MockPatch(
            'akanda_slim.slim.apply_journal.current_boot_id',
            return_value=BOOT_ID))
        self.unmounted = []
        self.useFixture(fixtures.MockPatch(
            'akanda_slim.slim.chroot._umount',
            side_effect=lambda path: self.unmounted.append(path)
            or 'unmounted'))

    def recover_with(self, mounted, text):
        self.useFixture(fixtures.MockPatch(
            'akanda_slim.slim.chroot.mountinfo.at', return_value=mounted))
        root = self.make_root()
        for name in ('proc', 'sys', 'dev'):
            os.makedirs(os.path.join(root, name))
        os.makedirs(os.path.join(root, apply_journal.RECORD_DIR))
        with open(os.path.join(root, apply_journal.RECORD_FILE), 'w') as out:
            out.write(text)
        return chroot.recover(root, apply_journal.RunRecord.load(root))

    def test_another_mount_with_the_recorded_id_is_left_alone(self):
        dib_proc = mountinfo.Mount(42, 1, '/x/proc', 'proc', 'proc')
        self.recover_with(dib_proc, record_text(purge='null'))
        self.assertEqual([], self.unmounted)

    def test_another_mount_of_the_kind_is_left_alone(self):
        dib_proc = mountinfo.Mount(42, 1, '/x/proc', 'proc', 'proc')
        self.recover_with(dib_proc, record_text(
            purge='null', mounts='[{"name": "proc", "mount_id": null}]'))
        self.assertEqual([], self.unmounted)

    def test_a_mount_carrying_the_nonce_is_unmounted(self):
        ours = mountinfo.Mount(43, 1, '/x/proc', 'proc',
                               'akanda-slim-' + NONCE)
        done = self.recover_with(ours, record_text(
            purge='null', mounts='[{"name": "proc", "mount_id": null}]'))
        self.assertEqual(1, len(self.unmounted), done)

    def test_a_record_of_another_boot_is_not_acted_on(self):
        root = self.make_root()
        os.makedirs(os.path.join(root, apply_journal.RECORD_DIR))
        with open(os.path.join(root, apply_journal.RECORD_FILE), 'w') as out:
            out.write(record_text(boot_id=json.dumps(
                BOOT_ID.replace('0b', 'ff'))))
        recovered = []
        self.useFixture(fixtures.MockPatch(
            'akanda_slim.slim.purge.chroot_mod.recover',
            side_effect=lambda root, stale: recovered.append(stale) or []))
        record = purge._recover(root, apply_journal.RunRecord.load(root))
        self.assertEqual(([None], None), (recovered, record.purge))
