"""Render image compositions side by side as a small hand-written SVG."""

from xml.sax import saxutils

from akanda_slim.footprint import composition
from akanda_slim import sizes

COLOURS = {
    'kernel': '#4e79a7',
    'Python': '#f28e2b',
    'router stack': '#59a14f',
    'docs and locales': '#e15759',
    'everything else': '#9c9c9c',
}
WIDTH = 900
LEFT = 110
BAR_WIDTH = 640
# The hatching that marks never-read bytes (see ``akanda-slim usage``).
PATTERN = ('<defs><pattern id="never-read" width="6" height="6" '
           'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
           '<rect width="6" height="6" fill="#fff" fill-opacity="0.55"/>'
           '<line x1="0" y1="0" x2="0" y2="6" stroke="#333" '
           'stroke-width="1.5"/></pattern></defs>\n')
FONT = 'font-family="DejaVu Sans, Arial, sans-serif"'


def text(x, y, content, size=12, anchor='start', weight='normal',
         fill='#222'):
    """An SVG <text> element (``content`` escaped) at (x, y)."""
    return ('<text x="%.1f" y="%.1f" %s font-size="%d" text-anchor="%s" '
            'font-weight="%s" fill="%s">%s</text>'
            % (x, y, FONT, size, anchor, weight, fill,
               saxutils.escape(content)))


def rect(x, y, width, height, fill, title=None):
    """An SVG <rect>, with ``title`` as its tooltip when given."""
    tip = '<title>%s</title>' % saxutils.escape(title) if title else ''
    return ('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" '
            'fill="%s">%s</rect>' % (x, y, width, height, fill, tip))


def _stacked_bar(items, y, scale, comp):
    x = LEFT
    items.append(text(LEFT - 10, y + 20, comp.name, 13, 'end', 'bold'))
    for name in composition.CATEGORIES:
        kib = comp.categories[name]
        width = kib * scale
        items.append(rect(x, y, width, 30, COLOURS[name],
                          '%s: %s' % (name, sizes.mib(kib))))
        if width > 52:
            items.append(text(x + width / 2, y + 19, sizes.mib(kib)[:-4], 11,
                              'middle', fill='#fff'))
        x += width
    items.append(text(x + 8, y + 20, sizes.mib(comp.total_kib), 12,
                      weight='bold'))
    if comp.never_read_kib is not None:
        width = comp.never_read_kib * scale
        items.append(_shade(LEFT, y + 31, width, 5, 'never read: %s'
                            % sizes.mib(comp.never_read_kib)))
        items.append(text(LEFT + width + 4, y + 37, 'never read by the '
                          'router: %s' % sizes.mib(comp.never_read_kib), 9,
                          fill='#555'))


def _shade(x, y, width, height, title):
    """A hatched band: bytes the usage report saw never read."""
    return ('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" '
            'fill="url(#never-read)" stroke="#333" stroke-width="0.5">'
            '<title>%s</title></rect>'
            % (x, y, width, height, saxutils.escape(title)))


def _legend(items, y, comps):
    """One column per category: its colour and name, then the figures."""
    column = (WIDTH - LEFT) / len(composition.CATEGORIES)
    items.append(text(LEFT - 10, y + 15, ' / '.join(c.name for c in comps),
                      10, 'end', fill='#555'))
    for index, name in enumerate(composition.CATEGORIES):
        x = LEFT + index * column
        items.append(rect(x, y - 10, 12, 12, COLOURS[name]))
        items.append(text(x + 16, y, name, 11, weight='bold'))
        values = ' / '.join(sizes.mib(c.categories[name])[:-4] for c in comps)
        items.append(text(x + 16, y + 15, values + ' MiB', 11))


def short_label(name, room=26):
    """``name`` cut to ``room`` characters in the middle.

    Its end stays: a kernel package's flavour is in its last characters.
    """
    if len(name) <= room:
        return name
    tail = room // 2 + 2
    return name[:room - tail - 1] + '\u2026' + name[-tail:]


def _top_packages(items, y, comps, count):
    column = (WIDTH - 40) / len(comps)
    biggest = max(k for c in comps for _, k in c.top_packages(count)) or 1
    for index, comp in enumerate(comps):
        x = 20 + index * column
        items.append(text(x, y, 'biggest packages: %s' % comp.name, 12,
                          weight='bold'))
        for row, (name, kib) in enumerate(comp.top_packages(count)):
            top = y + 10 + row * 20
            width = (column - 260) * kib / biggest
            colour = COLOURS[composition.category('', name, comp.router)]
            items.append(text(x + 175, top + 13, short_label(name), 11,
                              'end'))
            items.append(rect(x + 181, top + 2, width, 14, colour,
                              '%s: %s' % (name, sizes.mib(kib))))
            never = comp.never_read.get(name, 0) if comp.never_read else 0
            if never:
                part = width * min(never, kib) / kib
                items.append(_shade(x + 181 + width - part, top + 2, part,
                                    14, '%s never read: %s' % (
                                        name, sizes.mib(never))))
            items.append(text(x + 185 + width, top + 13, sizes.mib(kib), 10))
    return y + 10 + count * 20


def render(comps, title, top=10):
    """An SVG document comparing ``comps`` (Composition objects)."""
    largest = max(c.total_kib for c in comps) or 1
    scale = BAR_WIDTH / largest
    items = [text(20, 28, title, 16, weight='bold')]
    y = 50
    for comp in comps:
        _stacked_bar(items, y, scale, comp)
        y += 44
    _legend(items, y + 6, comps)
    bottom = _top_packages(items, y + 60, comps, top)
    height = bottom + 20
    return document(WIDTH, height, items, PATTERN)


def document(width, height, items, defs=''):
    """A whole SVG document: ``defs``, a white page, then ``items``."""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
            'viewBox="0 0 %d %d">\n%s<rect width="100%%" height="100%%" '
            'fill="#fff"/>\n%s\n</svg>\n'
            % (width, height, width, height, defs, '\n'.join(items)))
