"""The benchmark's figures: what is measured, from where, and its target.

Each ``Figure`` reads a list of values for one image from that image's
facts: ``{'report': a verify report (runner.Session.report()),
'build_seconds': float or None, 'sweep': ram_sweep records or None,
'router': router_timing rounds or None, 'failover': ha_pair reports or
None}``. ``records(facts)`` turns all figures into the benchmark's figure
records (name, unit, every value, the median per image, the target), the
rows of the report. A new figure is one more ``Figure`` in ``FIGURES``
(``per_boot`` reads the timed boots, ``per_record`` a measurement made
apart from them); a new point on the boot timeline one more entry in
``TIMELINE``; the report code does not change.
"""

import dataclasses
import typing

from akanda_slim.bootcheck import checks as checks_mod
from akanda_slim.bootcheck import measure
from akanda_slim.footprint.benchmark_results import IMAGES
from akanda_slim.footprint import ram_sweep

# Points of each boot's timeline: (key in a verify report's boot, label).
TIMELINE = (
    ('ssh_ready_seconds', 'SSH ready'),
    ('boot_finished_seconds', 'boot finished'),
)


def ratio_at_most(value):
    """Target: slim/baseline of the medians at most ``value``."""
    return {'compare': 'slim/baseline', 'at_most': value}


def ratio_at_least(value):
    """Target: slim/baseline of the medians at least ``value``."""
    return {'compare': 'slim/baseline', 'at_least': value}


def slim_at_most(value):
    """Target: the slim image's median at most ``value`` (the unit's)."""
    return {'compare': 'slim', 'at_most': value}


def per_boot(key, scale=1.0):
    """Reader: ``key`` of every boot of the verify report, scaled."""
    def read(facts):
        return [round(boot[key] * scale, 1)
                for boot in facts['report']['boots']
                if boot.get(key) is not None]
    return read


def per_record(part, key, scale=1.0):
    """Reader: ``key`` of every record in the facts' ``part`` list.

    ``part`` is a measurement made apart from the timed boots: 'router'
    (router_timing rounds) or 'failover' (ha_pair reports); a record that
    failed has no value and is left out.
    """
    def read(facts):
        return [round(record[key] * scale, 1)
                for record in facts.get(part) or ()
                if record.get(key) is not None]
    return read


def once(pick):
    """Reader: one value, ``pick(facts)``; none when it gives None."""
    def read(facts):
        value = pick(facts)
        return [] if value is None else [value]
    return read


def _checks_passed(facts):
    checks = facts['report']['checks']
    if not checks:
        return None  # no checks were run
    return sum(1 for c in checks if c['status'] == checks_mod.PASS)


def _surface(name):
    return lambda facts: facts['report']['surface'][name]['count']


def _build_seconds(facts):
    seconds = facts.get('build_seconds')
    return None if seconds is None else round(seconds, 1)


def _smallest_ram(facts):
    if not facts.get('sweep'):
        return None
    return ram_sweep.smallest_passing(facts['sweep'])


@dataclasses.dataclass(frozen=True)
class Figure:
    """One row of the report: a name, a unit, a reader and a target."""

    name: str
    unit: str
    read: typing.Callable
    target: typing.Optional[dict] = None


FIGURES = (
    Figure('QEMU start to SSH', 's', per_boot('ssh_ready_seconds')),
    Figure('QEMU start to boot finished', 's',
           per_boot('boot_finished_seconds'), ratio_at_most(0.70)),
    Figure('memory used after boot', 'MiB',
           per_boot('memory_used_kib', 1 / 1024.0), ratio_at_most(0.80)),
    Figure('QEMU start to router ready', 's',
           per_record('router', 'router_ready_seconds')),
    Figure('memory used after the config', 'MiB',
           per_record('router', 'memory_after_config_kib', 1 / 1024.0)),
    Figure('recovery: killed to routing again', 's',
           per_record('router', 'recovery_seconds')),
    Figure('failover: MASTER killed to traffic', 's',
           per_record('failover', 'new_connections_seconds')),
    Figure('qcow2 size', 'MiB',
           once(lambda f: round(f['report']['qcow2_bytes'] / 2.0 ** 20, 1)),
           ratio_at_most(0.30)),
    Figure('copy the image file', 's',
           once(lambda f: f['report']['copy_seconds'])),
    Figure('image build', 's', once(_build_seconds)),
    Figure('checks passed on the first boot', '', once(_checks_passed),
           ratio_at_least(1.0)),
    Figure('smallest guest RAM passing every check', 'MiB',
           once(_smallest_ram), slim_at_most(96)),
    Figure('installed packages', '', once(_surface('installed_packages'))),
    Figure('running services', '', once(_surface('running_services'))),
    Figure('listening sockets', '', once(_surface('listening_sockets'))),
    Figure('setuid/setgid files', '',
           once(_surface('setuid_setgid_files'))),
)


def records(facts, figures=FIGURES):
    """Figure records from ``facts`` ({image: facts}), in table order.

    A figure with no value for any image (an image taken, not built; no
    sweep asked for) is left out.
    """
    rows = []
    for figure in figures:
        values = {image: figure.read(facts[image]) for image in IMAGES}
        if not any(values.values()):
            continue
        rows.append({
            'name': figure.name,
            'unit': figure.unit,
            'values': values,
            'median': {image: measure.median(values[image])
                       for image in IMAGES},
            'target': figure.target,
        })
    return rows


def boot_records(facts, order=IMAGES):
    """Every boot's timeline, in the order the images were booted.

    One record per boot: ``image``, ``number`` (1, 2, ...), ``marks``
    (name and seconds since QEMU start, per ``TIMELINE``), the memory
    used after it in MiB and the system state it reached.
    """
    boots = {image: facts[image]['report']['boots'] for image in order}
    rounds = max(len(b) for b in boots.values())
    result = []
    for index in range(rounds):
        for image in order:
            if index >= len(boots[image]):
                continue
            boot = boots[image][index]
            result.append({
                'image': image,
                'number': index + 1,
                'marks': [{'name': label, 'seconds': boot[key]}
                          for key, label in TIMELINE
                          if boot.get(key) is not None],
                'memory_used_mib': round(boot['memory_used_kib'] / 1024.0,
                                         1),
                'system_state': boot.get('system_state', ''),
            })
    return result
