from akanda_slim.debian import consistency
from akanda_slim.debian import target
from tests.unit import base

S = base.stanza


class BrokenDependenciesTest(base.RootTestCase):

    def test_reports_unsatisfied_hard_dependencies_only(self):
        root = self.make_root(
            S('a', Depends='b (>= 2) | c', Recommends='missing'),
            S('b', version='1'), S('d', Pre_Depends='a'))
        self.assertEqual(['a Depends: b (>= 2) | c'],
                         consistency.broken_dependencies(
                             target.read_target(root)))
