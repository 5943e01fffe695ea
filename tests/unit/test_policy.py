import os

from akanda_slim.debian import target
from akanda_slim import errors
from akanda_slim.slim import decision
from akanda_slim.slim import policy
from tests.unit import base

S = base.stanza


def reasons(result):
    return {r.package: r.reason for r in result.remove}


class RecommendsPolicyTest(base.RootTestCase):

    def test_only_recommended_and_suggested_go_with_reasons(self):
        result = self.decide(
            S('app', Depends='lib', Recommends='rec', Suggests='sug'),
            S('lib'), S('rec', Installed_Size='30'),
            S('sug', Installed_Size='20'), S('orphan', Installed_Size='10'),
            auto=['lib', 'rec', 'sug', 'orphan'])
        self.assertEqual(['app', 'lib'], result.keep)
        self.assertEqual({'rec': 'only recommended by app',
                          'sug': 'only suggested by app',
                          'orphan': 'nothing installed depends on it'},
                         reasons(result))
        # biggest first
        self.assertEqual(['rec', 'sug', 'orphan'], result.remove_names)
        self.assertEqual({'packages': 3, 'installed_size_kib': 60},
                         result.totals['remove'])

    def test_roots_manual_essential_protected_never_autoremove(self):
        result = self.decide(
            S('manual'), S('ess', Essential='yes'),
            S('prot', Protected='yes'), S('imp', Important='yes'),
            S('linux-image-cloud-amd64'), S('auto'),
            auto=['ess', 'prot', 'imp', 'linux-image-cloud-amd64', 'auto'],
            apt_conf={'01autoremove': 'APT::NeverAutoRemove:: '
                                      '"^linux-image-[a-z0-9]*-[a-z0-9]*$";'})
        self.assertEqual(['auto'], result.remove_names)
        self.assertEqual('manually installed', result.roots['manual'])
        self.assertEqual('Essential: yes', result.roots['ess'])
        self.assertEqual('Protected: yes', result.roots['imp'])
        self.assertIn('NeverAutoRemove',
                      result.roots['linux-image-cloud-amd64'])

    KERNELS = {'01autoremove': 'APT::VersionedKernelPackages '
                               '{ "linux-.*"; ".*-modules"; };'}

    def three_kernels(self, **extra):
        return (S('linux-image-6.1.0-1-amd64', version='6.1.1-1'),
                S('linux-image-6.1.0-3-amd64', version='6.1.3-1'),
                S('linux-image-6.1.0-2-amd64', version='6.1.2-1'),
                S('linux-headers-6.1.0-1-amd64', version='6.1.1-1'),
                S('linux-headers-6.1.0-3-amd64', version='6.1.3-1'),
                S('linux-image-amd64', version='6.1.3-1'))

    def test_two_newest_of_three_kernels_are_protected(self):
        kernels = self.three_kernels()
        result = self.decide(*kernels, auto=[k.split('\n')[0][9:]
                                             for k in kernels],
                             apt_conf=self.KERNELS)
        self.assertEqual(['linux-headers-6.1.0-1-amd64',
                          'linux-image-6.1.0-1-amd64', 'linux-image-amd64'],
                         sorted(result.remove_names))
        self.assertIn('newest kernels kept',
                      result.roots['linux-image-6.1.0-2-amd64'])

    def test_kernel_count_from_apt_conf(self):
        kernels = self.three_kernels()
        conf = {'01autoremove': self.KERNELS['01autoremove']
                + 'APT::NeverAutoRemove::KernelCount "3";'}
        result = self.decide(*kernels, auto=[k.split('\n')[0][9:]
                                             for k in kernels],
                             apt_conf=conf)
        # apt also reads the count as a NeverAutoRemove pattern "3".
        self.assertEqual(['linux-image-amd64'], result.remove_names)

    def test_kernel_uname_as_apt_reads_it(self):
        self.assertEqual('6.12.48+deb13-amd64', policy.kernel_uname(
            'linux-image-6.12.48+deb13-amd64'))
        for name in ('linux-image-amd64', 'linux-image-6.1-dbg',
                     'linux-image-6-amd64', 'linux-headers-6.1.0-1-amd64'):
            self.assertEqual('', policy.kernel_uname(name))

    def test_auto_marked_priority_required_is_a_root(self):
        result = self.decide(S('liblocale-gettext-perl', Priority='required',
                               Depends='perl-base'),
                             S('perl-base'), S('other'),
                             auto=['liblocale-gettext-perl', 'perl-base',
                                   'other'])
        self.assertEqual(['other'], result.remove_names)
        self.assertEqual('Priority: required',
                         result.roots['liblocale-gettext-perl'])

    def test_held_package_is_a_root_unless_ignore_hold(self):
        stanzas = (S('held', status='hold ok installed', Depends='lib'),
                   S('lib'))
        result = self.decide(*stanzas, auto=['held', 'lib'])
        self.assertEqual([], result.remove_names)
        self.assertEqual('held (dpkg selection hold)', result.roots['held'])
        result = self.decide(*stanzas, auto=['held', 'lib'], apt_conf={
            '90hold': 'APT::Ignore-Hold "true";'})
        self.assertEqual(['held', 'lib'], sorted(result.remove_names))
        self.assertRaises(errors.PolicyError, self.decide, *stanzas,
                          remove=('held',))

    def test_arch_less_extended_states_applies_to_every_arch(self):
        root = self.make_root(S('dpkg'), S('lib', Multi_Arch='same'),
                              S('lib', Architecture='i386',
                                Multi_Arch='same'))
        with open(os.path.join(root, target.EXTENDED_STATES_FILE),
                  'w') as states:
            states.write('Package: lib\nAuto-Installed: 1\n')
        result = policy.decide(target.read_target(root), policy.Policy())
        self.assertEqual(['lib', 'lib:i386'], sorted(result.remove_names))

    def archless(self, *stanzas, states):
        root = self.make_root(S('dpkg'), *stanzas)
        with open(os.path.join(root, target.EXTENDED_STATES_FILE),
                  'w') as extended:
            extended.write(states)
        return sorted(policy.decide(target.read_target(root),
                                    policy.Policy()).remove_names)

    def test_arch_less_stanza_skipped_when_a_relation_made_a_foreign_first(
            self):
        # apt-get -s autoremove keeps zzz: its group's first package is the
        # virtual zzz:i386 aaa's Conflicts created (FindPkg "any").
        marks = ('Package: aaa\nArchitecture: amd64\nAuto-Installed: 1\n\n'
                 'Package: zzz\nAuto-Installed: 1\n')
        for field in ('Conflicts', 'Breaks', 'Replaces', 'Recommends'):
            self.assertEqual(['aaa'], self.archless(
                S('aaa', **{field: 'zzz:i386'}), S('zzz'), states=marks))
        self.assertEqual(['aaa'], self.archless(
            S('aaa', Depends='zzz:i386 | zzz'), S('zzz'), states=marks))
        # zzz's own stanza first, or :any, or an unqualified relation:
        # the mark applies.
        self.assertEqual(['aaa', 'zzz'], self.archless(
            S('zzz'), S('aaa', Conflicts='zzz:i386'), states=marks))
        for depends in ('zzz:any', 'zzz', 'zzz:amd64 (>= 1)'):
            self.assertEqual(['aaa', 'zzz'], self.archless(
                S('aaa', Depends=depends), S('zzz', Multi_Arch='allowed'),
                states=marks))

    def test_extended_states_architecture_all_is_the_native_one(self):
        self.assertEqual(['aaa', 'zzz'], self.archless(
            S('aaa', Architecture='all', Depends='zzz'), S('zzz'),
            states='Package: aaa\nArchitecture: all\nAuto-Installed: 1\n\n'
                   'Package: zzz\nAuto-Installed: 1\n'))

    def test_apt_itself_is_essential_to_apt(self):
        result = self.decide(S('apt'), auto=['apt'])
        self.assertEqual([], result.remove_names)

    def test_never_autoremove_is_case_insensitive(self):
        result = self.decide(S('keepme'), auto=['keepme'], apt_conf={
            '01x': 'APT::NeverAutoRemove { "^KEEPME$"; };'})
        self.assertEqual([], result.remove_names)

    def test_only_newest_source_version_of_providers_is_followed(self):
        result = self.decide(
            S('app', Depends='virt'),
            S('old', Provides='virt', Source='src (1.0)'),
            S('new', Provides='virt', Source='src (2.0)'),
            S('other', Provides='virt'),
            auto=['old', 'new', 'other'])
        self.assertEqual(['old'], result.remove_names)

    def test_hard_dependencies_transitive_pre_depends_and_cycles(self):
        result = self.decide(
            S('app', Pre_Depends='a'), S('a', Depends='b'),
            S('b', Depends='a'), S('c', Depends='d'), S('d', Depends='c'),
            auto=['a', 'b', 'c', 'd'])
        self.assertEqual(['a', 'app', 'b'], result.keep)
        self.assertEqual(['c', 'd'], sorted(result.remove_names))
        self.assertEqual(
            'needed only by packages removed too: d', reasons(result)['c'])

    def test_or_group_keeps_every_installed_alternative_like_apt(self):
        result = self.decide(S('app', Depends='x | y'), S('x'), S('y'),
                             auto=['x', 'y'])
        self.assertEqual([], result.remove_names)

    def test_virtual_and_versioned_provides(self):
        result = self.decide(
            S('app', Depends='mta, abi (>= 2), old (>= 1)'),
            S('postfix', Provides='mta'), S('libnew', Provides='abi (= 3)'),
            S('libold', Provides='abi (= 1)'), S('unversioned',
                                                 Provides='old'),
            auto=['postfix', 'libnew', 'libold', 'unversioned'])
        self.assertEqual(['app', 'libnew', 'postfix'], result.keep)

    def test_version_relation_must_hold(self):
        result = self.decide(S('app', Depends='lib (>= 2:1.0)'),
                             S('lib', version='1:9.0'), auto=['lib'])
        self.assertEqual(['lib'], result.remove_names)

    def test_architecture_qualifiers_and_multi_arch(self):
        result = self.decide(
            S('dpkg'),
            S('app', Depends='py:any, tool, natlib:native, only:i386'),
            S('py', Architecture='i386', Multi_Arch='allowed'),
            S('tool', Architecture='i386', Multi_Arch='foreign'),
            S('natlib', Architecture='i386', Multi_Arch='same'),
            S('natlib', Multi_Arch='same'),
            S('only', Architecture='i386'), S('other', Architecture='i386'),
            auto=['py:i386', 'tool:i386', 'natlib', 'natlib:i386',
                  'only:i386', 'other:i386'])
        # natlib:native wants the amd64 one; the i386 twin is not needed.
        self.assertEqual(['natlib:i386', 'other:i386'],
                         sorted(result.remove_names))
        self.assertIn('natlib', result.keep)

    def test_arch_all_depender_uses_native_architecture(self):
        result = self.decide(S('dpkg'), S('doc', Architecture='all',
                                          Depends='lib'),
                             S('lib', Architecture='i386'),
                             auto=['lib:i386'])
        self.assertEqual(['lib:i386'], result.remove_names)

    def test_config_files_are_purge_candidates(self):
        result = self.decide(S('a'), S('old',
                                       status='deinstall ok config-files'))
        self.assertEqual(['old'], result.purge_config_files)
        self.assertEqual([], result.remove_names)


class AppliancePolicyTest(base.RootTestCase):

    def test_manual_marks_do_not_protect_priority_required_does(self):
        result = self.decide(
            S('req', Priority='required', Depends='lib'), S('lib'),
            S('editor'), S('openssh-server', Depends='lib'),
            name=policy.APPLIANCE)
        self.assertEqual(['editor'], result.remove_names)
        self.assertIn('installed by hand', reasons(result)['editor'])
        self.assertEqual('Priority: required', result.roots['req'])
        self.assertIn('boot-critical', result.roots['openssh-server'])

    def test_apt_is_kept_whatever_its_priority(self):
        # bookworm's apt is Priority important; apt refuses to purge itself.
        result = self.decide(S('apt', Priority='important', Depends='gpgv'),
                             S('gpgv'), S('editor'), name=policy.APPLIANCE)
        self.assertEqual(['editor'], result.remove_names)
        self.assertIn('Essential', result.roots['apt'])

    def test_boot_critical_can_be_switched_off(self):
        result = self.decide(S('openssh-server'), name=policy.APPLIANCE,
                             boot_critical=False)
        self.assertEqual(['openssh-server'], result.remove_names)

    def test_busybox_is_boot_critical_only_beside_initramfs_tools(self):
        result = self.decide(S('busybox'), S('initramfs-tools'),
                             name=policy.APPLIANCE)
        self.assertEqual([], result.remove_names)
        self.assertEqual('boot-critical (busybox, beside initramfs-tools)',
                         result.roots['busybox'])
        result = self.decide(S('busybox'), S('tiny-initramfs'),
                             name=policy.APPLIANCE)
        self.assertEqual(['busybox'], result.remove_names)
        self.assertIn('boot-critical', result.roots['tiny-initramfs'])

    def test_keep_patterns_are_globs(self):
        result = self.decide(S('bird2'), S('bird2-doc'), S('dnsmasq'),
                             name=policy.APPLIANCE,
                             keep=('bird2', 'dns*'))
        self.assertEqual(['bird2-doc'], result.remove_names)
        self.assertEqual('--keep dns*', result.roots['dnsmasq'])

    def test_or_group_first_alternative_unless_one_is_kept(self):
        result = self.decide(
            S('app', Depends='x | y, z | y'), S('x'), S('y'), S('z'),
            name=policy.APPLIANCE, keep=('app',))
        self.assertEqual(['y'], result.remove_names)
        self.assertEqual(decision.ALTERNATIVE_KEPT,
                         result.remove[0].reason_code)
        result = self.decide(
            S('app', Depends='x | y'), S('other', Depends='y'), S('x'),
            S('y'), name=policy.APPLIANCE, keep=('app', 'other'))
        self.assertEqual(['x'], result.remove_names)


class KeepRemoveTest(base.RootTestCase):

    def test_requested_removal_with_reason(self):
        result = self.decide(S('app'), S('man-db'), remove=('man-*',))
        self.assertEqual({'man-db': 'requested removal (--remove man-*)'},
                         reasons(result))

    def test_removing_what_a_kept_package_needs_names_the_chain(self):
        exc = self.assertRaises(
            errors.PolicyError, self.decide,
            S('app'), S('mid', Depends='lib'), S('lib'),
            S('app2', Depends='mid'), auto=['mid', 'lib'], keep=('app2',),
            remove=('lib',))
        self.assertIn('cannot remove lib', str(exc))
        self.assertIn('app2 -> mid Depends lib', str(exc))

    def test_removal_falls_back_to_another_alternative(self):
        result = self.decide(S('app', Depends='x | y'), S('x'), S('y'),
                             auto=['x', 'y'], remove=('x',))
        self.assertEqual(['x'], result.remove_names)

    def test_removing_essential_or_kept_is_an_error(self):
        self.assertRaises(errors.PolicyError, self.decide,
                          S('base', Essential='yes'), remove=('base',))
        self.assertRaises(errors.PolicyError, self.decide, S('a'),
                          keep=('a',), remove=('a',))

    def test_explicit_removal_beats_manual_mark(self):
        result = self.decide(S('app'), S('vim'), remove=('vim',))
        self.assertEqual(['vim'], result.remove_names)

    def test_patterns_matching_nothing_warn(self):
        result = self.decide(S('a'), keep=('nope*',), remove=('gone',))
        self.assertEqual(['--remove gone matches no installed package',
                          '--keep nope* matches no installed package'],
                         result.warnings)

    def test_unknown_policy(self):
        self.assertRaises(errors.UsageError, policy.Policy, 'bogus')


class WhyTest(base.RootTestCase):

    def test_chain_from_root(self):
        result = self.decide(S('app', Depends='mid (>= 1)'),
                             S('mid', Depends='lib'), S('lib'),
                             auto=['mid', 'lib'])
        self.assertEqual(
            [('app', 'root: manually installed'),
             ('mid', 'app Depends: mid (>= 1)'),
             ('lib', 'mid Depends: lib')], result.why('lib'))
        self.assertEqual([], result.why('nonexistent'))
