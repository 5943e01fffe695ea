import testtools

from akanda_slim import sizes


class MibTest(testtools.TestCase):

    def test_kib_as_mib_with_one_decimal(self):
        self.assertEqual('1.5 MiB', sizes.mib(1536))
        self.assertEqual('0.0 MiB', sizes.mib(None))
