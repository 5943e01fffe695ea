"""Benchmark: how long a plan takes, beside apt's autoremove.

Target: the whole process ``akanda-slim plan --json`` on this machine's
own dpkg database within 2x the whole process ``apt-get -s autoremove``
(Recommends and Suggests not important) on the same database, median of
N interleaved runs of each. Not a test: it prints figures. (The images'
benchmark is ``akanda-slim benchmark``.)

    python tools/benchmark_plan.py [--repeat N] [--synthetic [--packages F]]

Then read + decide in-process for this machine's database, and with
``--synthetic`` for roots made from a Debian Packages index (by default the
host's main index, read through apt) with its first 3,000, 10,000, 30,000
and all packages marked installed (targets: under 0.3 s for 3,000, under
10 s for the whole archive, growth close to linear).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

try:
    from debian import deb822

    from akanda_slim.debian import target
    from akanda_slim.slim import policy
except ImportError as missing:  # not akanda-slim's Python
    sys.exit('%s: %s; run it as ./tools/akanda-slim-venv python %s'
             % (os.path.basename(sys.argv[0]), missing, ' '.join(sys.argv)))

FIELDS = ('Package', 'Version', 'Architecture', 'Multi-Arch', 'Priority',
          'Section', 'Essential', 'Protected', 'Important', 'Installed-Size',
          'Pre-Depends', 'Depends', 'Recommends', 'Suggests', 'Provides')


def host_packages_index():
    """Text of the host's biggest Packages index, through apt."""
    names = subprocess.run(
        ['apt-get', 'indextargets', '--format', '$(FILENAME)',
         'Identifier: Packages'], check=True, text=True,
        stdout=subprocess.PIPE).stdout.split()
    if not names:
        sys.exit('no Packages index on this host: run apt-get update')
    biggest = max(names, key=lambda n: os.path.getsize(
        n if os.path.exists(n) else _existing(n)))
    return subprocess.run(['/usr/lib/apt/apt-helper', 'cat-file',
                           _existing(biggest)], check=True,
                          stdout=subprocess.PIPE).stdout.decode()


def _existing(name):
    for suffix in ('', '.lz4', '.gz', '.xz', '.zst'):
        if os.path.exists(name + suffix):
            return name + suffix
    return name


def status_stanzas(index_text):
    """Status stanzas (unique by name and architecture) from an index."""
    seen = set()
    for stanza in deb822.Packages.iter_paragraphs(index_text.splitlines(),
                                                  use_apt_pkg=False):
        key = (stanza['Package'], stanza.get('Architecture'))
        if key in seen:
            continue
        seen.add(key)
        lines = ['Package: %s' % stanza['Package'],
                 'Status: install ok installed']
        lines += ['%s: %s' % (f, stanza[f]) for f in FIELDS[1:]
                  if f in stanza]
        yield '\n'.join(lines) + '\n'


def make_root(stanzas):
    root = tempfile.mkdtemp(prefix='akanda-slim-bench-')
    os.makedirs(os.path.join(root, 'var/lib/dpkg'))
    with open(os.path.join(root, target.STATUS_FILE), 'w') as status:
        status.write('\n'.join(stanzas))
    return root


def measure(root, repeat):
    """Best-of-N seconds for read + decide, per policy."""
    timings = {}
    for name in policy.POLICIES:
        best = None
        for _ in range(repeat):
            started = time.perf_counter()
            plan = policy.decide(target.read_target(root),
                                 policy.Policy(name))
            elapsed = time.perf_counter() - started
            best = elapsed if best is None else min(best, elapsed)
        timings[name] = (best, plan.totals['installed']['packages'])
    return timings


OURS = [sys.executable, '-m', 'akanda_slim.cli', 'plan', '--root', '/',
        '--json']
APTS = ['apt-get', '-s', '-o', 'APT::AutoRemove::RecommendsImportant=false',
        '-o', 'APT::AutoRemove::SuggestsImportant=false', 'autoremove']


def whole_process(repeat):
    """Median wall seconds of our plan and apt's autoremove, interleaved.

    apt runs as configured (a Docker image's apt.conf.d/docker-clean keeps
    no binary cache, so apt rebuilds it every run) and with its binary
    caches kept in a scratch directory, warmed once.
    """
    cache = tempfile.mkdtemp(prefix='akanda-slim-bench-apt-')
    cached = APTS[:2] + ['-o', 'Dir::Cache::pkgcache=%s/pkgcache.bin' % cache,
                         '-o', 'Dir::Cache::srcpkgcache=%s/srcpkgcache.bin'
                         % cache] + APTS[2:]
    subprocess.run(cached, check=True, stdout=subprocess.DEVNULL)
    times = {'ours': [], 'apt': [], 'apt, cache kept': []}
    for _ in range(repeat):
        for label, command in (('ours', OURS), ('apt', APTS),
                               ('apt, cache kept', cached)):
            started = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            times[label].append(time.perf_counter() - started)
    subprocess.run(['rm', '-rf', cache], check=True)
    return {label: statistics.median(values)
            for label, values in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--packages', help='a Packages index file (text)')
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--synthetic', action='store_true',
                        help='also time roots made from a Packages index')
    args = parser.parse_args()
    medians = whole_process(args.repeat)
    print('whole process on this machine (/), median of %d:' % args.repeat)
    for label in ('apt', 'apt, cache kept', 'ours'):
        command = OURS[2:] if label == 'ours' else APTS[:2] + APTS[-1:]
        print('  %-40s %-16s %.3f s' % (' '.join(command), label,
                                        medians[label]))
    fastest_apt = min(medians['apt'], medians['apt, cache kept'])
    print('  ours / fastest apt: %.2fx (target: at most 2x)'
          % (medians['ours'] / fastest_apt))
    rows = [('this machine (/)', measure('/', args.repeat))]
    stanzas = []
    if args.synthetic:
        if args.packages:
            with open(args.packages) as index:
                text = index.read()
        else:
            text = host_packages_index()
        stanzas = list(status_stanzas(text))
    for count in (3000, 10000, 30000, len(stanzas)):
        if not stanzas:
            break
        if count > len(stanzas):
            continue
        root = make_root(stanzas[:count])
        try:
            rows.append(('synthetic %d' % count, measure(root, args.repeat)))
        finally:
            subprocess.run(['rm', '-rf', root])
    print('\nread + decide in-process, best of %d:' % args.repeat)
    print('%-20s %9s %12s %12s %14s' % (
        'root', 'packages', 'recommends', 'appliance', 'us/package'))
    for label, timings in rows:
        seconds, count = timings[policy.RECOMMENDS]
        print('%-20s %9d %11.3fs %11.3fs %14.1f' % (
            label, count, seconds, timings[policy.APPLIANCE][0],
            seconds / count * 1e6))


if __name__ == '__main__':
    main()
