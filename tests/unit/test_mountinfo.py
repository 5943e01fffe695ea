from akanda_slim.slim import mountinfo
from tests.unit import base

TEXT = '''\
27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
42 27 0:39 / /var/tmp/a\\040b/proc rw,relatime shared:5 - proc proc rw
44 27 0:6 / /var/tmp/a\\040b/dev rw master:2 - devtmpfs devtmpfs rw
45 44 0:6 / /var/tmp/a\\040b/dev rw - devtmpfs devtmpfs rw
'''


class MountinfoTest(base.RootTestCase):

    def test_parse_unescapes_and_skips_optional_fields(self):
        mounts = mountinfo.parse(TEXT)
        self.assertEqual(4, len(mounts))
        self.assertEqual('/var/tmp/a b/proc', mounts[1].mount_point)
        self.assertEqual(('proc', 'proc'),
                         (mounts[1].fstype, mounts[1].source))

    def test_at_gives_the_mount_on_top(self):
        mounts = mountinfo.parse(TEXT)
        self.assertEqual(45, mountinfo.at('/var/tmp/a b/dev/',
                                          mounts).mount_id)
        self.assertIsNone(mountinfo.at('/var/tmp/a b', mounts))

    def test_under_is_by_path_component(self):
        mounts = mountinfo.parse(TEXT + '46 27 0:7 / /var/tmp/a\\040bc/x '
                                 'rw - tmpfs tmpfs rw\n')
        self.assertEqual([42, 44, 45], [m.mount_id for m in
                                        mountinfo.under('/var/tmp/a b',
                                                        mounts)])

    def test_this_process_sees_its_proc(self):
        # read() reads /proc, so /proc is a mount; "/" is none in a chroot
        self.assertEqual('proc', mountinfo.at('/proc').fstype)
