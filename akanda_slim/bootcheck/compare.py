"""Baseline against slim: one table from two verify reports."""

from akanda_slim import sizes

CHECK_MARK = {'pass': 'pass', 'fail': 'FAIL', 'not run': 'not run'}


def _ratio(slim, baseline):
    return '%.2f' % (slim / baseline) if baseline else '-'


def rows(baseline, slim):
    """(figure, baseline, slim, slim/baseline) rows."""
    table = []

    def add(name, key, show, b_value, s_value):
        table.append((name, show(b_value), show(s_value),
                      _ratio(s_value, b_value)))

    for key, name in (('ssh_ready_seconds', 'QEMU start to SSH (median)'),
                      ('boot_finished_seconds',
                       'QEMU start to boot finished (median)')):
        add(name, key, lambda v: '%.1f s' % v, baseline['median'][key],
            slim['median'][key])
    add('memory used after boot (median)', 'memory',
        sizes.mib,
        baseline['median']['memory_used_kib'],
        slim['median']['memory_used_kib'])
    add('qcow2 size', 'qcow2', lambda v: sizes.mib(v / 1024.0),
        baseline['qcow2_bytes'], slim['qcow2_bytes'])
    add('copy the image file', 'copy', lambda v: '%.2f s' % v,
        baseline['copy_seconds'], slim['copy_seconds'])
    for name, label in (('installed_packages', 'installed packages'),
                        ('running_services', 'running services'),
                        ('listening_sockets', 'listening sockets'),
                        ('setuid_setgid_files', 'setuid/setgid files')):
        add(label, name, str, baseline['surface'][name]['count'],
            slim['surface'][name]['count'])
    return table


def check_rows(baseline, slim):
    slim_checks = {c['name']: c['status'] for c in slim['checks']}
    return [(c['name'], CHECK_MARK[c['status']],
             CHECK_MARK[slim_checks.get(c['name'], 'not run')])
            for c in baseline['checks']]


def regressions(baseline, slim):
    """Checks the baseline passes and the slim image does not."""
    return [name for name, b, s in check_rows(baseline, slim)
            if b == 'pass' and s != 'pass']


def rst_table(header, body):
    columns = list(zip(header, *body))
    widths = [max(len(str(cell)) for cell in column) for column in columns]
    rule = '  '.join('=' * w for w in widths)

    def line(cells):
        return '  '.join(str(c).ljust(w) for c, w in
                         zip(cells, widths)).rstrip()

    lines = [rule, line(header), rule]
    lines += [line(r) for r in body]
    return '\n'.join(lines + [rule])


def panic_lines(name, report):
    """One line per timing boot that panicked and was booted again."""
    return ['%s boot %d: guest kernel panic (%s), booted again' % (
        name, p['boot'], p['panic']) for p in report.get('panics', [])]


def text(baseline, slim):
    boots = len(slim['boots'])
    notes = ['Medians of %d boot(s) each under QEMU %s, %d MiB, the two '
             'images booted in turn.'
             % (boots, slim['accel'].upper(), slim['memory_mib'])]
    notes += panic_lines('baseline', baseline) + panic_lines('slim', slim)
    return '\n\n'.join([
        rst_table(('figure', 'baseline', 'slim', 'slim/baseline'),
                  rows(baseline, slim)),
        rst_table(('check', 'baseline', 'slim'), check_rows(baseline, slim)),
        '\n'.join(notes),
    ])
