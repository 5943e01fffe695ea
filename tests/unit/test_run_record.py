import os

from akanda_slim import errors
from akanda_slim import run_record
from tests.unit import base


class RunRecordTest(base.RootTestCase):

    def test_round_trip_and_removal_when_empty(self):
        root = self.make_root()
        record = run_record.RunRecord(root)
        record.mounts.append({'name': 'proc', 'mount_id': 42})
        record.save()
        loaded = run_record.RunRecord.load(root)
        self.assertEqual(([{'name': 'proc', 'mount_id': 42}], os.getpid()),
                         (loaded.mounts, loaded.pid))
        record.mounts = []
        record.save()
        self.assertIsNone(run_record.RunRecord.load(root))
        self.assertFalse(os.path.exists(os.path.join(
            root, run_record.RECORD_DIR)))

    def test_malformed_record_is_an_input_error(self):
        root = self.make_root()
        os.makedirs(os.path.join(root, run_record.RECORD_DIR))
        for text in ('{', '[]', '{"pid": 1}',
                     '{"pid": 1, "started": 0, "mounts": [{"name": "etc", '
                     '"mount_id": 1}], "policy_rc_d": null, "purge": null}'):
            with open(os.path.join(root, run_record.RECORD_FILE), 'w') as f:
                f.write(text)
            exc = self.assertRaises(errors.InputError,
                                    run_record.RunRecord.load, root)
            self.assertIn('is malformed', str(exc))

    def test_record_directory_symlink_stays_inside(self):
        root = self.make_root()
        outside = self.make_root()
        os.symlink(outside, os.path.join(root, 'var/lib/akanda-slim'))
        record = run_record.RunRecord(root, purge=['x'])
        record.save()
        self.assertEqual([], [n for n in os.listdir(outside)
                              if n != 'var' and n != 'etc'])
        self.assertFalse(os.path.exists(os.path.join(
            outside, 'apply-run.json')))
        self.assertEqual(['x'], run_record.RunRecord.load(root).purge)
