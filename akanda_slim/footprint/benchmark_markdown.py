"""benchmark.md: the Markdown report, made from benchmark.json alone.

Above the table: the date, the source's commit, the machine and the
command line. The table has one row per figure record: baseline and slim
(medians), slim/baseline, the target and whether it was met. Then the RAM
sweep's pass/fail per size with the reasons, when a sweep was run.
"""

from akanda_slim.footprint.benchmark_results import IMAGES


def number(value, unit=''):
    """A figure as the table shows it: an int as is, a float 1 decimal."""
    if value is None:
        return '-'
    shown = '%d' % value if isinstance(value, int) else '%.1f' % value
    return '%s %s' % (shown, unit) if unit else shown


def ratio(figure):
    """slim/baseline of the medians, or None."""
    baseline, slim = (figure['median'][image] for image in IMAGES)
    if baseline is None or slim is None or baseline == 0:
        return None
    return slim / baseline


def target_text(figure):
    """The target in words, e.g. ``slim/baseline <= 0.70``; '' if none."""
    target = figure['target']
    if not target:
        return ''
    bound = 'at_most' if 'at_most' in target else 'at_least'
    sign = '<=' if bound == 'at_most' else '>='
    if target['compare'] == 'slim/baseline':
        return 'slim/baseline %s %.2f' % (sign, target[bound])
    return 'slim %s %s' % (sign, number(target[bound], figure['unit']))


def target_met(figure):
    """True, False, or None when there is no target or nothing to judge."""
    target = figure['target']
    if not target:
        return None
    value = (ratio(figure) if target['compare'] == 'slim/baseline'
             else figure['median']['slim'])
    if value is None:
        return None
    if 'at_most' in target:
        return value <= target['at_most']
    return value >= target['at_least']


VERDICT = {True: 'met', False: '**missed**', None: ''}


def _cell(text):
    return str(text).replace('|', '\\|')


def table(header, rows):
    """A Markdown table; ``header`` cells ending in ':' align right."""
    names = [cell.rstrip(':') for cell in header]
    rules = ['---:' if cell.endswith(':') else '---' for cell in header]
    lines = ['| %s |' % ' | '.join(names), '| %s |' % ' | '.join(rules)]
    lines += ['| %s |' % ' | '.join(_cell(c) for c in row) for row in rows]
    return '\n'.join(lines)


def figure_rows(document):
    rows = []
    for figure in document['figures']:
        share = ratio(figure)
        rows.append((
            figure['name'],
            number(figure['median']['baseline'], figure['unit']),
            number(figure['median']['slim'], figure['unit']),
            '-' if share is None else '%.2f' % share,
            target_text(figure),
            VERDICT[target_met(figure)]))
    return rows


def sweep_rows(sweep):
    """One row per size, largest first: each image's status and reason."""
    by_size = {}
    for result in sweep['results']:
        cell = result['status']
        if result['reason']:
            cell += ': ' + result['reason']
        by_size.setdefault(result['memory_mib'], {})[result['image']] = cell
    return [('%d MiB' % size,) + tuple(by_size[size].get(image, 'not swept')
                                       for image in IMAGES)
            for size in sorted(by_size, reverse=True)]


def header_lines(document):
    """Date, source, machine and command line, as a Markdown list."""
    machine = document['machine']
    source = document['source']
    if source:
        commit = '`%s`%s' % (source.get('commit', '?'),
                             ' with local changes'
                             if source.get('modified') else '')
    else:
        commit = 'not a git checkout'
    hardware = ['%s cores' % machine['cores']]
    if machine.get('memory_mib'):
        hardware.append('%.1f GiB' % (machine['memory_mib'] / 1024.0))
    if machine.get('cpu'):
        hardware.append(machine['cpu'])
    hardware.append('QEMU %s' % machine['accelerator'].upper())
    settings = document['settings']
    boots = ('%s boot(s) per image at %s MiB, the images booted in turn; '
             'medians' % (settings.get('boots', '?'),
                          settings.get('memory_mib', '?')))
    lines = ['- Date: %s' % document['date'],
             '- Source: %s' % commit,
             '- Machine: %s' % ', '.join(hardware),
             '- Command: `%s`' % document['command'],
             '- Boots: %s' % boots]
    if settings.get('router_rounds'):
        lines.append('- Routers: %d per image at %s MiB, in turn: QEMU start '
                     'to tenant traffic through NAT, then killed and '
                     'rebuilt' % (settings['router_rounds'],
                                  settings.get('memory_mib', '?')))
    if settings.get('failovers'):
        lines.append('- Failovers: %d HA pair(s) per image at %s MiB per '
                     'router, in turn' % (
                         settings['failovers'],
                         settings.get('failover_memory_mib', '?')))
    return lines


def render(document):
    """The Markdown text of a validated results document."""
    parts = ['# akanda-slim benchmark', '\n'.join(header_lines(document)),
             table(('figure', 'baseline:', 'slim:', 'slim/baseline:',
                    'target', 'result'), figure_rows(document))]
    if document['sweep']:
        parts += ['## Guest RAM sweep',
                  'One boot per size running every check, largest first; '
                  'an image stops at its first failure.',
                  table(('guest RAM',) + IMAGES, sweep_rows(
                      document['sweep']))]
    return '\n\n'.join(parts) + '\n'
