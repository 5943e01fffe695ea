"""benchmark.svg: boot timelines and the RAM sweep, from benchmark.json.

Every boot is one bar from QEMU start through its timeline marks (SSH
ready, boot finished, ...), the two images' boots of each round side by
side. Below, the RAM sweep: one cell per image and size, pass or fail
(the reason as the cell's tooltip and in a line under the grid).
"""

from akanda_slim.footprint.benchmark_results import IMAGES
from akanda_slim.footprint import svg

WIDTH = 900
LEFT = 130
BAR_WIDTH = 560
ROW = 18
COLOURS = {'baseline': '#9c9c9c', 'slim': '#59a14f'}
SWEEP_COLOURS = {'pass': '#59a14f', 'fail': '#e15759', 'not run': '#dddddd'}


def tick_step(longest):
    """Seconds between axis ticks: about six ticks over ``longest``."""
    for step in (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600):
        if longest / step <= 8:
            return step
    return 1200


def _shade(index, count):
    """Opacity of the segment ending at mark ``index`` of ``count``."""
    return 1.0 if count < 2 else 1.0 - 0.55 * index / (count - 1)


def _boot_bar(items, y, boot, scale):
    colour = COLOURS[boot['image']]
    items.append(svg.text(LEFT - 10, y + 13, '%s boot %d' % (
        boot['image'], boot['number']), 11, 'end'))
    start = 0.0
    count = len(boot['marks'])
    for index, mark in enumerate(boot['marks']):
        width = max(0.0, (mark['seconds'] - start) * scale)
        items.append(
            '<g opacity="%.2f">%s</g>' % (_shade(index, count), svg.rect(
                LEFT + start * scale, y + 2, width, ROW - 4, colour,
                '%s boot %d: %s at %.1f s' % (
                    boot['image'], boot['number'], mark['name'],
                    mark['seconds']))))
        start = max(start, mark['seconds'])
    said = ', '.join('%s %.1f s' % (m['name'], m['seconds'])
                     for m in boot['marks'])
    items.append(svg.text(LEFT + start * scale + 6, y + 13, said, 10,
                          fill='#444'))


def _timelines(items, y, boots):
    items.append(svg.text(20, y, 'Boot timelines (seconds since QEMU '
                          'start)', 14, weight='bold'))
    y += 12
    longest = max([m['seconds'] for b in boots for m in b['marks']] + [1])
    scale = BAR_WIDTH / longest
    step = tick_step(longest)
    top = y
    rounds = {}
    for boot in boots:
        rounds.setdefault(boot['number'], []).append(boot)
    for number in sorted(rounds):
        for boot in rounds[number]:
            _boot_bar(items, y, boot, scale)
            y += ROW
        y += 6
    for tick in range(0, int(longest) + 1, step):
        x = LEFT + tick * scale
        items.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" '
                     'stroke="#ccc" stroke-width="0.5"/>' % (x, top, x, y))
        items.append(svg.text(x, y + 12, '%d s' % tick, 10, 'middle',
                              fill='#555'))
    names = [m['name'] for m in boots[0]['marks']] if boots else []
    legend = ', then '.join('to %s' % name for name in names)
    if len(names) > 1:
        legend += ' (darker to lighter)'
    items.append(svg.text(LEFT, y + 28, 'QEMU start %s' % legend, 10,
                          fill='#555'))
    return y + 50


def _sweep(items, y, sweep):
    items.append(svg.text(20, y, 'Guest RAM sweep (one boot per size, '
                          'every check)', 14, weight='bold'))
    y += 14
    if not sweep:
        items.append(svg.text(LEFT, y + 12, 'not run (akanda-slim benchmark '
                              '--sweep SIZES runs it)', 11, fill='#555'))
        return y + 30
    sizes = sorted({r['memory_mib'] for r in sweep['results']},
                   reverse=True)
    cell = min(80.0, (WIDTH - LEFT - 20) / max(1, len(sizes)))
    for column, size in enumerate(sizes):
        items.append(svg.text(LEFT + column * cell + cell / 2, y + 10,
                              '%d MiB' % size, 10, 'middle'))
    y += 16
    found = {(r['image'], r['memory_mib']): r for r in sweep['results']}
    reasons = []
    for image in IMAGES:
        items.append(svg.text(LEFT - 10, y + 15, image, 11, 'end'))
        for column, size in enumerate(sizes):
            result = found.get((image, size))
            status = result['status'] if result else 'not run'
            said = status if result else 'not swept'
            tip = '%s at %d MiB: %s%s' % (
                image, size, said, ': ' + result['reason']
                if result and result['reason'] else '')
            x = LEFT + column * cell
            items.append(svg.rect(x + 1, y, cell - 2, 20,
                                  SWEEP_COLOURS[status], tip))
            items.append(svg.text(x + cell / 2, y + 14, said, 10,
                                  'middle', fill='#fff' if status != 'not run'
                                  else '#555'))
            if result and result['status'] == 'fail':
                reasons.append(tip)
        y += 24
    for line in reasons:
        items.append(svg.text(LEFT, y + 12, line, 10, fill='#444'))
        y += 14
    return y + 20


def render(document):
    """The SVG text of a validated results document."""
    source = document['source']
    machine = document['machine']
    commit = 'no git commit'
    if source:
        commit = 'commit %s%s' % (source['commit'][:12], ' with local '
                                  'changes' if source.get('modified') else '')
    subtitle = '%s; %s; %s cores, QEMU %s' % (
        document['date'], commit, machine['cores'],
        machine['accelerator'].upper())
    items = [svg.text(20, 28, 'akanda-slim benchmark: baseline against '
                      'slim', 16, weight='bold'),
             svg.text(20, 46, subtitle, 11, fill='#555')]
    y = _timelines(items, 76, document['boots'])
    y = _sweep(items, y, document['sweep'])
    return svg.document(WIDTH, int(y), items)
