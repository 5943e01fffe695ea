"""akanda-slim benchmark: slim against baseline, as a report.

Builds the images it is not given (as ``akanda-slim build`` does), boots
each ``--boots`` times in turn (the first boot of each runs every router
check, as ``verify`` does), times ``--router-rounds`` routers of each from
QEMU's start to traffic and from their kill to traffic through a fresh
instance (``router_timing``), fails ``--failovers`` HA pairs of each over
(``ha_pair``), sweeps guest RAM on request, and writes
benchmark.json (the source of truth) with benchmark.md and benchmark.svg
made from it into ``--output-dir``, replacing an older report. Exit 0
when the benchmark ran, whether or not its targets were met.
"""

import argparse
import datetime
import glob
import logging
import os
import shlex
import shutil
import sys
import tempfile
import time

from akanda_slim.bootcheck import check_sets
from akanda_slim.bootcheck import ha_pair
from akanda_slim.bootcheck import qemu
from akanda_slim.bootcheck import router_timing
from akanda_slim.bootcheck import runner
from akanda_slim.commands import build as build_command
from akanda_slim.commands import failover as failover_command
from akanda_slim.dib import hostdeps
from akanda_slim.dib import image_build
from akanda_slim import errors
from akanda_slim.footprint import benchmark_figures
from akanda_slim.footprint import benchmark_markdown
from akanda_slim.footprint import benchmark_results
from akanda_slim.footprint import benchmark_svg
from akanda_slim.footprint import host_facts
from akanda_slim.footprint import ram_sweep
from akanda_slim import termination

HELP = ('build or take the slim and baseline images, boot each in turn, '
        'sweep guest RAM on request, and write benchmark.json with its '
        'Markdown table and SVG plot')
LOG = logging.getLogger(__name__)

DEFAULT_OUTPUT = 'akanda-slim-benchmark'
DEFAULT_SWEEP = '256,192,160,128,112,96,80'
MIN_MEMORY_MIB = 16
IMAGES = benchmark_results.IMAGES
REPORT_FILES = ('benchmark.md', 'benchmark.svg')
LOGS = 'logs'
LOG_PREFIX = '.logs-'  # a run's logs until its report is saved
FAILOVER_HOLD = 30  # seconds the tenant holds its connection


def add_arguments(parser):
    parser.add_argument('--slim', metavar='IMAGE',
                        help='the slim image to measure (default: build it '
                        'into OUTPUT_DIR/images)')
    parser.add_argument('--baseline', metavar='IMAGE',
                        help='the baseline image to measure (default: build '
                        'it into OUTPUT_DIR/images)')
    parser.add_argument('--boots', type=int, default=3,
                        help='boots per image, the images booted in turn; '
                        'the report gives medians (default: %(default)s)')
    parser.add_argument('--router-rounds', type=int, default=3,
                        metavar='N',
                        help='routers of each image, in turn, timed from '
                        'QEMU start to tenant traffic through NAT and from '
                        'their kill to traffic through a fresh instance '
                        '(default: %(default)s; 0: none)')
    parser.add_argument('--failovers', type=int, default=3, metavar='N',
                        help='HA pairs of each image, in turn, whose '
                        'MASTER is killed (default: %(default)s; 0: none)')
    parser.add_argument('--failover-memory', type=int,
                        default=failover_command.MEMORY_MIB, metavar='MIB',
                        help='guest RAM of each router of a pair (default: '
                        '%(default)s)')
    parser.add_argument('--sweep', nargs='?', const=DEFAULT_SWEEP,
                        metavar='SIZES',
                        help='also boot each image at these guest RAM '
                        'sizes in MiB, comma-separated, largest first, '
                        'each running every check, down to its first '
                        'failure (--sweep alone: %s)' % DEFAULT_SWEEP)
    parser.add_argument('--sweep-only', choices=IMAGES,
                        help='sweep this image only')
    parser.add_argument('--sweep-budget', type=float, metavar='MINUTES',
                        help='start no sweep boot after this many minutes '
                        'of the benchmark (the sizes left are "not run")')
    parser.add_argument('--memory', type=int, default=1024, metavar='MIB',
                        help='guest RAM of the timed boots (default: '
                        '%(default)s)')
    parser.add_argument('--accel', choices=('tcg', 'kvm'), default='tcg',
                        help='QEMU accelerator (default: tcg)')
    parser.add_argument('--no-checks', action='store_true',
                        help='time the boots only; run no router check')
    parser.add_argument('--checks', choices=sorted(check_sets.SETS),
                        default='all',
                        help='the checks of the first timed boot of each '
                        'image, as verify --checks (default: %(default)s; '
                        'the sweep always runs all of them)')
    parser.add_argument('--release', default=image_build.DEFAULT_RELEASE,
                        help='Debian release of the images built '
                        '(default: %(default)s)')
    for option, metavar in (('--agent-source', 'LOCATION'),
                            ('--agent-ref', 'REF')):
        parser.add_argument(option, metavar=metavar,
                            help='for the images built: as akanda-slim '
                            'build %s' % option)
    parser.add_argument('--runtime-only', action='store_true',
                        help='for the images built: as akanda-slim build '
                        '--runtime-only')
    parser.add_argument('--output-dir', default=DEFAULT_OUTPUT,
                        help='where benchmark.json, .md, .svg, the logs '
                        'and built images go (default: %(default)s)')
    parser.add_argument('--report-only', metavar='DIR',
                        help='make benchmark.md and benchmark.svg again '
                        'from DIR/benchmark.json; boot nothing')


def sweep_sizes(text):
    """The sizes of ``--sweep`` (MiB), largest first; UsageError if bad."""
    try:
        sizes = [int(part) for part in text.split(',') if part.strip()]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < MIN_MEMORY_MIB:
        raise errors.UsageError(
            '--sweep %r: give guest RAM sizes in MiB, comma-separated, '
            'each at least %d (e.g. %s)' % (text, MIN_MEMORY_MIB,
                                            DEFAULT_SWEEP))
    return sorted(set(sizes), reverse=True)


def writable_dir(path, option='--output-dir'):
    """Make ``path`` if needed; UsageError unless files can be made in it."""
    build_command.check_output_dir(path)
    try:
        os.makedirs(path, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError as exc:
        raise errors.UsageError('%s %s is not writable: %s' % (
            option, path, exc.strerror or exc)) from None


def check_args(args):
    """Refuse bad input up front (UsageError, exit 2)."""
    if args.report_only is not None:
        if args.slim or args.baseline or args.sweep:
            raise errors.UsageError('--report-only makes the report from '
                                    'an existing benchmark.json: give no '
                                    'image and no --sweep with it')
        if not os.path.isdir(args.report_only):
            raise errors.UsageError('--report-only %s: no such directory'
                                    % args.report_only)
        return
    if args.boots < 1:
        raise errors.UsageError('--boots must be at least 1')
    if args.router_rounds < 0 or args.failovers < 0:
        raise errors.UsageError('--router-rounds and --failovers must be 0 '
                                'or more')
    for option, mib in (('--memory', args.memory),
                        ('--failover-memory', args.failover_memory)):
        if mib < MIN_MEMORY_MIB:
            raise errors.UsageError('%s must be at least %d MiB'
                                    % (option, MIN_MEMORY_MIB))
    if args.sweep is not None:
        sweep_sizes(args.sweep)
    elif args.sweep_only or args.sweep_budget is not None:
        raise errors.UsageError('--sweep-only and --sweep-budget go with '
                                '--sweep')
    if args.accel == 'kvm' and not qemu.kvm_usable():
        raise errors.UsageError('--accel kvm: /dev/kvm is not usable')
    for image in filter(None, (args.slim, args.baseline)):
        runner.boot_files(image)
    writable_dir(args.output_dir)
    for role in IMAGES:
        if not getattr(args, role):
            # The agent's source, known up front, not after the first build
            build_command.agent_environment(build_arguments(args, role))


def render(document):
    """{file name: text} of the report made from ``document``."""
    return {'benchmark.md': benchmark_markdown.render(document),
            'benchmark.svg': benchmark_svg.render(document)}


def report_only(directory):
    writable_dir(directory, '--report-only')
    document = benchmark_results.load(directory)
    benchmark_results.save(directory, render(document))
    for name in REPORT_FILES:
        print('wrote %s' % os.path.join(directory, name))
    return 0


def command_line(argv):
    """The command line as a user types it again."""
    return shlex.join(['akanda-slim'] + list(argv))


def run(args):
    check_args(args)
    if args.report_only is not None:
        return report_only(args.report_only)
    if os.geteuid() == 0:
        hostdeps.install_missing('test')
    try:
        with termination.handled():
            document = Benchmark(args, command_line(sys.argv[1:])).run()
    except termination.Interrupted as stopped:
        # QEMU and the networks are gone; the command line says 130.
        raise KeyboardInterrupt(str(stopped)) from None
    print(benchmark_markdown.render(document), end='')
    print('wrote %s' % ', '.join(os.path.join(args.output_dir, name) for name
                                 in (benchmark_results.JSON_NAME,)
                                 + REPORT_FILES))
    return 0


def build_arguments(args, role):
    """``akanda-slim build``'s parsed arguments for ``role``'s image."""
    parser = argparse.ArgumentParser()
    build_command.add_arguments(parser)
    argv = ['--output-dir', os.path.join(args.output_dir, 'images'),
            '--release', args.release,
            '--name', 'akanda-%s-%s' % (role, args.release)]
    argv += ['--baseline'] if role == 'baseline' else []
    argv += ['--runtime-only'] if args.runtime_only else []
    for option in ('agent_source', 'agent_ref'):
        if getattr(args, option):
            argv += ['--' + option.replace('_', '-'), getattr(args, option)]
    return parser.parse_args(argv)


def build_image(args, role):
    """Build ``role``'s image with ``akanda-slim build``; (path, seconds)."""
    build_args = build_arguments(args, role)
    started = time.monotonic()
    build_command.run(build_args)
    directory, name = build_args.output_dir, build_args.name
    image = os.path.join(directory, name + '.qcow2')
    if not os.path.isfile(image):
        raise errors.BuildError('the build of the %s image left no %s in %s'
                                % (role, os.path.basename(image), directory))
    return image, time.monotonic() - started


def _remove_keys(directory):
    """Delete the boots' SSH key pairs (private keys) under ``directory``."""
    for path in glob.glob(os.path.join(directory, '**', 'id_ed25519*'),
                          recursive=True):
        os.remove(path)


class Benchmark:
    """One benchmark run: images, boots, sweep, then the saved report."""

    def __init__(self, args, command):
        self.args = args
        self.command = command
        self.began = time.monotonic()
        self.date = datetime.datetime.now(datetime.timezone.utc)
        self.images = {'slim': args.slim, 'baseline': args.baseline}
        self.build_seconds = {image: None for image in IMAGES}
        self.log_dir = None
        # Taken at the start: the source and machine that ran it.
        self.source = host_facts.source_commit()
        self.machine = host_facts.machine(args.accel)

    def run(self):
        """Measure, save the report; the results document."""
        out = self.args.output_dir
        self.log_dir = tempfile.mkdtemp(prefix=LOG_PREFIX, dir=out)
        try:
            document = self._measure()
            _remove_keys(self.log_dir)
            files = render(document)
            files[benchmark_results.JSON_NAME] = benchmark_results.dumps(
                document)
            with termination.deferred():
                benchmark_results.save(out, files)
                self._replace_logs()
        except BaseException:
            self._keep_logs()
            raise
        return document

    def _replace_logs(self):
        """This run's logs become OUTPUT/logs; older runs' logs go."""
        out = self.args.output_dir
        stale = glob.glob(os.path.join(out, LOG_PREFIX + '*'))
        for path in [os.path.join(out, LOGS)] + stale:
            if os.path.realpath(path) != os.path.realpath(self.log_dir):
                shutil.rmtree(path, ignore_errors=True)
        os.replace(self.log_dir, os.path.join(out, LOGS))

    def _keep_logs(self):
        """After a failure: logs kept without keys, and said where."""
        if not os.path.isdir(self.log_dir):
            return  # saved already: a signal held during the save
        _remove_keys(self.log_dir)
        if not os.listdir(self.log_dir):
            os.rmdir(self.log_dir)
            return
        sys.stderr.write('akanda-slim: logs of the unfinished benchmark '
                         'kept in %s\n' % self.log_dir)

    def _relative(self, path):
        """A path under the log directory as it is once saved."""
        if not path:
            return path
        return os.path.join(LOGS, os.path.relpath(path, self.log_dir))

    def _measure(self):
        for role in IMAGES:
            if not self.images[role]:
                self.images[role], self.build_seconds[role] = build_image(
                    self.args, role)
        reports = self._boot()
        routers = self._router_rounds()
        failovers = self._failovers()
        sweep = self._sweep() if self.args.sweep else None
        facts = {role: {'report': reports[role],
                        'build_seconds': self.build_seconds[role],
                        'router': routers[role],
                        'failover': failovers[role],
                        'sweep': [r for r in sweep['results']
                                  if r['image'] == role] if sweep else None}
                 for role in IMAGES}
        document = {
            'format': benchmark_results.FORMAT,
            'date': self.date.strftime('%Y-%m-%dT%H:%M:%SZ'),
            'command': self.command,
            'source': self.source,
            'machine': self.machine,
            'settings': self._settings(),
            'duration_seconds': round(time.monotonic() - self.began),
            'log_dir': LOGS,
            'images': [self._image(role, reports[role]) for role in IMAGES],
            'figures': benchmark_figures.records(facts),
            'boots': benchmark_figures.boot_records(facts),
            'routers': routers,
            'failovers': failovers,
            'sweep': sweep,
        }
        return benchmark_results.validate(document)

    def _settings(self):
        args = self.args
        return {'boots': args.boots, 'memory_mib': args.memory,
                'accel': args.accel,
                'checks': None if args.no_checks else args.checks,
                'release': args.release,
                'router_rounds': args.router_rounds,
                'failovers': args.failovers,
                'failover_memory_mib': args.failover_memory,
                'sweep_sizes_mib': sweep_sizes(args.sweep)
                if args.sweep else None,
                'sweep_images': [args.sweep_only] if args.sweep_only
                else list(IMAGES) if args.sweep else [],
                'sweep_budget_minutes': args.sweep_budget}

    def _image(self, role, report):
        return {'role': role, 'path': os.path.abspath(self.images[role]),
                'built': self.build_seconds[role] is not None,
                'build_seconds': self.build_seconds[role],
                'qcow2_bytes': report['qcow2_bytes'],
                'kernel': report['kernel'], 'initrd': report['initrd'],
                'checks': report['checks'],
                'checks_passed': report['checks_passed'],
                'panics': report['panics'],
                'log_dir': self._relative(report['log_dir'])}

    def _boot(self):
        """Boot both images in turn; {role: verify report}."""
        options = runner.Options(boots=self.args.boots,
                                 accel=self.args.accel,
                                 memory_mib=self.args.memory,
                                 run_checks=not self.args.no_checks,
                                 check_set=self.args.checks)
        sessions = [runner.Session(
            self.images[role], tempfile.mkdtemp(prefix=role + '-',
                                                dir=self.log_dir),
            options=options) for role in IMAGES]
        return dict(zip(IMAGES, runner.verify_interleaved(sessions)))

    def _in_turn(self, count, measure):
        """``measure(role, number)`` ``count`` times per image, in turn.

        {role: [record, ...]}; a failed measurement is a record with its
        ``error`` (and no figure), not the end of the benchmark.
        """
        records = {role: [] for role in IMAGES}
        for number in range(1, count + 1):
            for role in IMAGES:
                try:
                    record = measure(role, number)
                except (errors.VerificationError, errors.BootError,
                        errors.CommandError) as failure:
                    LOG.warning('%s %d of %s: %s', measure.__name__, number,
                                role, failure)
                    record = {'error': str(failure)}
                record['number'] = number
                records[role].append(record)
        return records

    def _router_rounds(self):
        """Router ready, memory after the config, recovery; per image."""
        options = runner.Options(accel=self.args.accel,
                                 memory_mib=self.args.memory)

        def router_round(role, number):
            kernel, initrd = runner.boot_files(self.images[role])
            return router_timing.router_round(
                self.images[role], kernel, initrd, os.path.join(
                    self.log_dir, '%s-router-%d' % (role, number)), options)
        return self._in_turn(self.args.router_rounds, router_round)

    def _failovers(self):
        """HA pairs failed over; per image, ha_pair's reports."""
        options = runner.Options(accel=self.args.accel,
                                 memory_mib=self.args.failover_memory)

        def failover(role, number):
            directory = os.path.join(self.log_dir, '%s-failover-%d'
                                     % (role, number))
            os.makedirs(directory)
            report = ha_pair.run_pair(self.images[role], directory,
                                      options=options,
                                      hold_seconds=FAILOVER_HOLD)
            report['log_dir'] = self._relative(directory)
            return report
        return self._in_turn(self.args.failovers, failover)

    def _sweep(self):
        """The RAM sweep's document part: sizes and per-size results."""
        sizes = sweep_sizes(self.args.sweep)
        deadline = (self.began + self.args.sweep_budget * 60
                    if self.args.sweep_budget is not None else None)
        results = []
        # The slim image first: its minimum is the target a budget must
        # not cut.
        for role in ('slim', 'baseline'):
            if self.args.sweep_only not in (None, role):
                continue
            for record in ram_sweep.sweep(
                    self.images[role], sizes, self.log_dir, deadline,
                    boot=self._sweep_boot):
                record.update(image=role,
                              log_dir=self._relative(record['log_dir']))
                results.append(record)
        return {'sizes_mib': sizes, 'results': results}

    def _sweep_boot(self, image, memory_mib, log_dir):
        return ram_sweep.check_boot(image, memory_mib, log_dir,
                                    self.args.accel)
