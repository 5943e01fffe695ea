"""A strict reader of dpkg's status file: refuses what dpkg refuses.

Follows dpkg 1.21's parser (lib/dpkg/parse.c ``parse_stanza``,
``pkg_parse_field``, ``pkg_parse_verify``; fields.c; parsehelp.c
``parseversion``) for the status file: the stanza syntax, duplicate fields,
the fields dpkg checks (Package, Version, Config-Version, Status, Essential,
Protected, Multi-Arch, Priority, the relationship fields, archive fields
not allowed in a status file) and its consistency rules (Version required
once installed, Config-Version, triggers against Status, one
non-coinstallable instance of a package). What dpkg only warns about is
accepted. ``dpkg-query --admindir`` is the test oracle.

``parse(text, path)`` returns ``[(line, {field: value})]``, field names as
first written; every refusal is a StatusError ``PATH:LINE: reason`` (exit 2).
"""

import re

from akanda_slim import errors

_SPACE = ' \t\n\v\f\r'
_NAME_EXTRA = set('-+._')
KNOWN_FIELDS = {name.lower() for name in (
    'Package', 'Essential', 'Protected', 'Status', 'Priority', 'Section',
    'Installed-Size', 'Origin', 'Maintainer', 'Bugs', 'Architecture',
    'Multi-Arch', 'Source', 'Version', 'Config-Version', 'Replaces',
    'Provides', 'Depends', 'Pre-Depends', 'Recommends', 'Suggests',
    'Breaks', 'Conflicts', 'Enhances', 'Conffiles', 'Filename', 'Size',
    'MSDOS-Filename', 'Description', 'Triggers-Pending', 'Triggers-Awaited',
    'Recommended', 'Optional', 'Class', 'Revision', 'Package-Revision')}
RELATION_FIELDS = {
    'depends', 'pre-depends', 'recommends', 'suggests', 'breaks',
    'conflicts', 'enhances', 'replaces', 'provides',
    'recommended', 'optional'}
NO_ALTERNATIVES = {'breaks', 'conflicts', 'replaces', 'provides'}
ARCHIVE_FIELDS = {'filename', 'size', 'msdos-filename'}
WANTS = ('unknown', 'install', 'hold', 'deinstall', 'purge')
EFLAGS = ('ok', 'reinstreq')
STATUSES = ('not-installed', 'config-files', 'half-installed', 'unpacked',
            'half-configured', 'triggers-awaited', 'triggers-pending',
            'installed')
BOOLEANS = ('no', 'yes')
MULTI_ARCH = ('no', 'same', 'allowed', 'foreign')
PRIORITIES = ('required', 'important', 'standard', 'optional', 'extra',
              'unknown')
INT_MAX = 2 ** 31 - 1


class Refused(Exception):
    """One dpkg parse error; the reader adds file and line."""


_GOOD_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9+._-]*$')
_GOOD_ARCH = re.compile(r'^[A-Za-z0-9][A-Za-z0-9-]*$')
# A colon anywhere means an epoch: the text before the first colon.
_GOOD_VERSION = re.compile(
    r'^(?:[0-9]{1,9}:|(?=[^:]*$))[0-9A-Za-z.+~:-]*[0-9A-Za-z.+~]$')
# A relationship field in canonical form; anything else takes the slow path.
_RELATION = (r'([A-Za-z0-9][A-Za-z0-9+._-]*)(?::([A-Za-z0-9][A-Za-z0-9-]*))?'
             r'(?: \((<<|<=|=|>=|>>) ([^\s()]+)\))?')
_SIMPLE_RELATIONS = re.compile(r'^%s(?:(?:,\s*| \| )%s)*$'
                               % (_RELATION, _RELATION))
_ONE_RELATION = re.compile(_RELATION + r'(,\s*| \| |$)')


def name_problem(name):
    """dpkg's pkg_name_is_illegal: None or why ``name`` is no package name."""
    if _GOOD_NAME.match(name):
        return None
    if not name:
        return 'may not be empty string'
    if not name[0].isascii() or not name[0].isalnum():
        return 'must start with an alphanumeric character'
    for char in name:
        if not (char.isascii() and char.isalnum()) and char not in \
                _NAME_EXTRA:
            return "character '%s' not allowed" % char
    return None


def arch_problem(arch):
    """dpkg's dpkg_arch_name_is_illegal."""
    if _GOOD_ARCH.match(arch):
        return None
    if not arch:
        return 'may not be empty string'
    if not arch[0].isascii() or not arch[0].isalnum():
        return 'must start with an alphanumeric'
    for char in arch:
        if not (char.isascii() and char.isalnum()) and char != '-':
            return "character '%s' not allowed" % char
    return None


def version_problem(text):
    """dpkg's parseversion errors (not its warnings): None or the reason."""
    if _GOOD_VERSION.match(text) and not text.startswith('0:-'):
        upstream = text.partition(':')[2] if ':' in text else text
        if upstream.rpartition('-')[0] or '-' not in upstream:
            if upstream and upstream[0] != '-':
                return None
    text = text.strip(' \t')
    if not text:
        return 'version string is empty'
    if ' ' in text or '\t' in text:
        return 'version string has embedded spaces'
    if ':' in text:
        epoch, _colon, rest = text.partition(':')
        match = re.match(r'^[ \t\n\v\f\r]*[-+]?[0-9]+', epoch)
        if not match:
            return 'epoch in version is empty'
        if match.end() != len(epoch):
            return 'epoch in version is not number'
        value = int(match.group())
        if value < 0:
            return 'epoch in version is negative'
        if value > INT_MAX:
            return 'epoch in version is too big'
        if not rest:
            return 'nothing after colon in version number'
        text = rest
    upstream, hyphen, revision = text.rpartition('-')
    if hyphen and not revision:
        return 'revision number is empty'
    if not hyphen:
        upstream = text
    if not upstream:
        return 'version number is empty'
    return None


def _word(value, choices, flags_next=False):
    """dpkg's parse_nv: (index, rest); raises Refused."""
    if not value:
        raise Refused('is missing a value')
    lower = value.lower()
    for index, choice in enumerate(choices):
        if lower.startswith(choice):
            rest = value[len(choice):].lstrip(_SPACE)
            if rest and not flags_next:
                raise Refused('has trailing junk')
            return index, rest
    raise Refused("has invalid value '%.50s'" % value)


def parse_relations(value, field):
    """A relationship field as dpkg's f_dependency parses it.

    Returns a list of OR-groups of (name, archqual, op, version); ``op``
    is one of << <= = >= >> (dpkg's obsolete < and > read as <= and >=).
    """
    groups = []
    pos, end = 0, len(value)
    if not value:
        return groups
    if _SIMPLE_RELATIONS.match(value) and (
            '|' not in value or field.lower() not in NO_ALTERNATIVES):
        group = []
        for match in _ONE_RELATION.finditer(value):
            name, archqual, op, version, sep = match.groups()
            if version is not None and version_problem(version):
                break  # the slow path words the refusal
            group.append((name.lower(), archqual, op, version))
            if sep != ' | ':
                groups.append(group)
                group = []
        else:
            return groups
        groups = []
    while True:
        group = []
        while True:
            start = pos
            while pos < end and value[pos] not in _SPACE + ':(,|':
                pos += 1
            name = value[start:pos]
            if not name:
                raise Refused("'%s' field, missing package name, or garbage "
                              "where package name expected" % field)
            problem = name_problem(name)
            if problem:
                raise Refused("'%s' field, invalid package name '%s': %s"
                              % (field, name, problem))
            archqual = None
            if pos < end and value[pos] == ':':
                pos += 1
                start = pos
                while pos < end and value[pos] not in _SPACE + '(,|':
                    pos += 1
                archqual = value[start:pos]
                problem = arch_problem(archqual)
                if problem:
                    raise Refused("'%s' field, reference to '%s': invalid "
                                  "architecture name '%s': %s"
                                  % (field, name, archqual, problem))
            while pos < end and value[pos] in _SPACE:
                pos += 1
            op = version = None
            if pos < end and value[pos] == '(':
                pos += 1
                while pos < end and value[pos] in _SPACE:
                    pos += 1
                c1 = value[pos] if pos < end else ''
                if c1 in ('<', '>'):
                    pos += 1
                    c2 = value[pos] if pos < end else ''
                    if c2 == '=':
                        op = c1 + '='
                        pos += 1
                    elif c2 == c1:
                        op = c1 + c1
                        pos += 1
                    elif c2 in ('<', '>'):
                        raise Refused("'%s' field, reference to '%s': bad "
                                      "version relationship %s%s"
                                      % (field, name, c1, c2))
                    else:
                        op = c1 + '='
                elif c1 == '=':
                    op = '='
                    pos += 1
                else:
                    op = '='
                while pos < end and value[pos] in _SPACE:
                    pos += 1
                start = pos
                while pos < end and value[pos] not in ')(' + _SPACE:
                    pos += 1
                version = value[start:pos]
                while pos < end and value[pos] in _SPACE:
                    pos += 1
                if pos >= end:
                    raise Refused("'%s' field, reference to '%s': version "
                                  "unterminated" % (field, name))
                if value[pos] != ')':
                    raise Refused("'%s' field, reference to '%s': version "
                                  "contains '%s' instead of ')'"
                                  % (field, name, value[pos]))
                problem = version_problem(version)
                if problem:
                    raise Refused("'%s' field, reference to '%s': version "
                                  "'%s': %s" % (field, name, version,
                                                problem))
                pos += 1
                while pos < end and value[pos] in _SPACE:
                    pos += 1
            group.append((name.lower(), archqual, op, version))
            if pos >= end or value[pos] == ',':
                break
            if value[pos] != '|':
                raise Refused("'%s' field, syntax error after reference to "
                              "package '%s'" % (field, name.lower()))
            if field.lower() in NO_ALTERNATIVES:
                raise Refused("alternatives ('|') not allowed in '%s' field"
                              % field)
            pos += 1
            while pos < end and value[pos] in _SPACE:
                pos += 1
        groups.append(group)
        if pos >= end:
            return groups
        pos += 1
        while pos < end and value[pos] in _SPACE:
            pos += 1


def _conffile_lastword(value, start, frm, end):
    """dpkg's conffvalue_lastword: (word start, new end of the name)."""
    if frm <= start + 1:
        raise _malformed_conffile(value, start, end)
    last_space = value.rfind(' ', 0, frm)
    if last_space <= start + 1 or last_space >= end - 1:
        raise _malformed_conffile(value, start, end)
    return last_space + 1, last_space


def _malformed_conffile(value, start, end):
    return Refused("value for 'Conffiles' field has malformed line '%s'"
                   % value[start:min(end, start + 250)])


def check_conffiles(value):
    """dpkg's f_conffiles: lines ' NAME HASH [remove-on-upgrade] [obsolete]'.

    The hash is not checked; a name that is only slashes is refused.
    """
    pos = 0
    while pos < len(value):
        char = value[pos]
        pos += 1
        if char == '\n':
            continue
        if char != ' ':
            raise Refused("value for 'Conffiles' has line starting with "
                          "non-space '%s'" % char)
        end = value.find('\n', pos)
        end = len(value) if end < 0 else end
        word, name_end = _conffile_lastword(value, pos, end, end)
        # dpkg measures every word to the end of the line, as here
        if value[word:end] == 'remove-on-upgrade':
            word, name_end = _conffile_lastword(value, pos, name_end, end)
        if value[word:end] == 'obsolete':
            word, name_end = _conffile_lastword(value, pos, name_end, end)
        name = value[pos:name_end]
        while name.startswith('/') or name.startswith('./'):
            name = name[1:] if name.startswith('/') else name[2:]
        if not name:
            raise Refused("root or empty directory listed as a conffile in "
                          "'Conffiles' field")
        pos = end


def _check_field(key, value, stanza):
    """Field checks of dpkg's fieldinfos rcall functions."""
    if key == 'conffiles':
        check_conffiles(value)
    elif key == 'package':
        problem = name_problem(value)
        if problem:
            raise Refused("invalid package name in 'Package' field: %s"
                          % problem)
    elif key in ('essential', 'protected'):
        if value:
            _word(value, BOOLEANS)
    elif key == 'multi-arch':
        if value:
            stanza['_multi_arch'] = MULTI_ARCH[_word(value, MULTI_ARCH)[0]]
    elif key == 'priority':
        if value:
            lower = value.lower()
            for choice in PRIORITIES:
                if lower.startswith(choice):
                    if value[len(choice):].lstrip(_SPACE):
                        raise Refused("word in 'Priority' field: has "
                                      "trailing junk")
                    break
    elif key == 'status':
        words = []
        for which, choices, more in (('first (want)', WANTS, True),
                                     ('second (error)', EFLAGS, True),
                                     ('third (status)', STATUSES, False)):
            try:
                index, value = _word(value, choices, more)
            except Refused as exc:
                raise Refused("%s word in 'Status' field: %s"
                              % (which, exc.args[0])) from None
            words.append(index)
        want, eflag, status = words
        stanza['_status'] = (WANTS[want], EFLAGS[eflag], STATUSES[status])
    elif key in ('version', 'config-version'):
        problem = version_problem(value)
        if problem:
            raise Refused("'%s' field value '%.250s': %s"
                          % ('Version' if key == 'version'
                              else 'Config-Version', value, problem))
    elif key in RELATION_FIELDS:
        stanza['_relations'][key] = parse_relations(value, _CANONICAL.get(
            key, key))
    elif key in ARCHIVE_FIELDS:
        if not value:
            raise Refused("empty archive details '%s' field" % key)
        raise Refused("archive details '%s' field not allowed in status "
                      "file" % key)
    elif key == 'triggers-pending':
        for name in value.split():
            if not name.isprintable() or not name.isascii():
                raise Refused("illegal pending trigger name '%s'" % name)
    elif key == 'triggers-awaited':
        for name in value.split():
            problem = name_problem(name.partition(':')[0])
            if problem:
                raise Refused("illegal package name in awaited trigger "
                              "'%s': %s" % (name, problem))


_CANONICAL = {name.lower(): name for name in (
    'Package', 'Version', 'Status', 'Architecture', 'Essential',
    'Protected', 'Multi-Arch', 'Priority', 'Source', 'Description',
    'Maintainer', 'Installed-Size', 'Section', 'Config-Version',
    'Conffiles', 'Triggers-Pending', 'Triggers-Awaited',
    'Depends', 'Pre-Depends', 'Recommends', 'Suggests', 'Breaks',
    'Conflicts', 'Enhances', 'Replaces', 'Provides')}


def _verify(fields, parsed):
    """dpkg's pkg_parse_verify for a status file stanza."""
    if 'package' not in parsed or not parsed['package']:
        raise Refused("missing 'Package' field" if 'package' not in parsed
                      else "empty value for 'Package' field")
    want, eflag, status = parsed.get('_status', ('unknown', 'ok',
                                                 'not-installed'))
    if status not in ('not-installed', 'half-installed'):
        if 'version' not in parsed:
            raise Refused("missing 'Version' field")
        if not parsed['version']:
            raise Refused("empty value for 'Version' field")
    arch = parsed.get('architecture', '')
    if parsed.get('_multi_arch') == 'same':
        if not arch:
            raise Refused("package has 'Multi-Arch: same' field but is "
                          "missing architecture")
        if arch == 'all':
            raise Refused("package has 'Multi-Arch: same' field but is "
                          "architecture 'all'")
    if parsed.get('config-version'):
        if status in ('installed', 'not-installed', 'triggers-pending'):
            raise Refused("'Config-Version' field present for package "
                          "with inappropriate 'Status' field")
    awaited = parsed.get('triggers-awaited', '').split()
    pending = parsed.get('triggers-pending', '').split()
    order = STATUSES.index
    if awaited and (order(status) <= order('config-files')
                    or order(status) >= order('triggers-pending')):
        raise Refused('package has status %s but triggers are awaited'
                      % status)
    if status == 'triggers-awaited' and not awaited:
        raise Refused('package has status %s but no triggers awaited'
                      % status)
    if pending and status not in ('triggers-pending', 'triggers-awaited'):
        raise Refused('package has status %s but triggers are pending'
                      % status)
    if status == 'triggers-pending' and not pending:
        raise Refused('package has status %s but no triggers pending'
                      % status)


def _stanzas_by_char(text):
    """dpkg's parse_stanza over ``text``: yields (line, [(name, value)]).

    Raises Refused with the line number as its second argument.
    """
    pos, end, line = 0, len(text), 1
    while True:
        while pos < end and text[pos] in '\n\x1a':
            if text[pos] == '\n':
                line += 1
            pos += 1
        if pos >= end:
            return
        start_line = line
        fields = []
        while True:
            start, field_line = pos, line
            while pos < end and text[pos] not in _SPACE + ':\x1a':
                pos += 1
            name = text[start:pos]
            if not name:
                raise Refused('empty field name', line)
            if name[0] == '-':
                raise Refused("field name '%s' cannot start with hyphen"
                              % name, line)
            while pos < end and text[pos] != '\n' and text[pos] in _SPACE:
                pos += 1
            if pos >= end:
                raise Refused("end of file after field name '%s'" % name,
                              line)
            if text[pos] == '\n':
                raise Refused("newline in field name '%s'" % name, line)
            if text[pos] == '\x1a':
                raise Refused("MSDOS end of file (^Z) in field name '%s'"
                              % name, line)
            if text[pos] != ':':
                raise Refused("field name '%s' must be followed by colon"
                              % name, line)
            pos += 1
            while pos < end and text[pos] != '\n' and text[pos] in _SPACE:
                pos += 1
            if pos >= end:
                raise Refused("end of file before value of field '%s' "
                              "(missing final newline)" % name, line)
            if text[pos] == '\x1a':
                raise Refused("MSDOS end of file (^Z) in value of field "
                              "'%s' (missing newline?)" % name, line)
            value_start = pos
            stanza_end = False
            while True:
                newline = _next_break(text, pos)
                if newline < 0:
                    raise Refused("end of file during value of field '%s' "
                                  "(missing final newline)" % name, line)
                line += 1
                pos = newline + 1
                if (pos >= end or text[pos] == '\n'
                        or text[pos] not in _SPACE):
                    value = text[value_start:newline].rstrip(_SPACE)
                    # ^Z where a field would start ends the stanza too
                    stanza_end = pos >= end or text[pos] in '\n\x1a'
                    break
            fields.append((name, value, field_line))
            if stanza_end:
                if pos < end and text[pos] == '\n':
                    line += 1
                    pos += 1
                break
        yield start_line, fields


def _stanzas(text):
    """dpkg's parse_stanza, line by line; texts with ^Z go char by char."""
    if '\x1a' in text:
        yield from _stanzas_by_char(text)
        return
    lines = text.split('\n')
    last = len(lines) - 1     # lines[last] follows the final newline
    index = 0
    while True:
        while index < last and not lines[index]:
            index += 1
        if index == last and not lines[last]:
            return
        start_line = index + 1
        fields = []
        while True:
            number = index + 1
            text_line = lines[index]
            match = _FIELD.match(text_line)
            if match is None or index == last:
                raise Refused(_field_problem(text_line, index == last),
                              number)
            name, value = match.group(1), match.group(2)
            index += 1
            parts = [value]
            while (index < last and lines[index]
                   and lines[index][0] in _SPACE):
                parts.append(lines[index])
                index += 1
            if index == last and lines[last]:
                if lines[last][0] in _SPACE:
                    raise Refused("end of file during value of field '%s' "
                                  "(missing final newline)" % name,
                                  index + 1)
            fields.append((name, '\n'.join(parts).rstrip(_SPACE),
                           number))
            if index >= last or not lines[index]:
                break
        yield start_line, fields


_FIELD = re.compile(r'^([^\s:-][^\s:]*)[ \t\v\f\r]*:[ \t\v\f\r]*(.*)$',
                    re.S)


def _field_problem(line, at_eof):
    """Why a line that should start a field does not (dpkg's wording)."""
    name = re.match(r'^[^\s:]*', line).group()
    rest = line[len(name):].lstrip(' \t\v\f\r')
    if not name:
        return 'empty field name'
    if name[0] == '-':
        return "field name '%s' cannot start with hyphen" % name
    if at_eof and not rest:
        return "end of file after field name '%s'" % name
    if not rest:
        return "newline in field name '%s'" % name
    if rest[0] != ':':
        return "field name '%s' must be followed by colon" % name
    if at_eof and not rest[1:].strip(' \t\v\f\r'):
        return ("end of file before value of field '%s' (missing final "
                "newline)" % name)
    return ("end of file during value of field '%s' (missing final "
            "newline)" % name)


def _next_break(text, pos):
    newline = text.find('\n', pos)
    msdos = text.find('\x1a', pos, newline if newline >= 0 else len(text))
    return msdos if msdos >= 0 else newline


def parse(text, path):
    """Stanzas of a status file's ``text``: [(line, {field: value})]."""
    result = []
    instances = {}
    if text and text[-1] != '\n':
        # dpkg never reads the last byte of a file that lacks a final
        # newline (so 'Field: value' there ends early, one stray byte is
        # ignored): its parser stops one byte short, measured with dpkg-query
        last = text[-1].encode('utf-8', 'surrogateescape')[:-1]
        text = text[:-1] + last.decode('utf-8', 'surrogateescape')
    try:
        for line, fields in _stanzas(text):
            parsed = {'_relations': {}}
            names = {}
            for name, value, field_line in fields:
                key = name.lower()
                if key not in KNOWN_FIELDS and len(
                        name.encode('utf-8', 'surrogateescape')) < 2:
                    raise Refused("user-defined field name '%s' too short"
                                  % name, field_line)
                if key in names:
                    raise Refused(
                        "duplicate value for %s'%s' field"
                        % ('' if key in KNOWN_FIELDS else 'user-defined ',
                           name if key not in KNOWN_FIELDS
                           else _CANONICAL.get(key, name)), field_line)
                names[key] = name
                if '\0' in value:
                    value = value.split('\0', 1)[0]  # dpkg's C string ends
                parsed[key] = value
                try:
                    _check_field(key, value, parsed)
                except Refused as exc:
                    raise Refused(exc.args[0], field_line) from None
            try:
                _verify(fields, parsed)
            except Refused as exc:
                raise Refused(exc.args[0], line) from None
            _count_instance(instances, parsed, line)
            result.append((line, parsed))
    except Refused as exc:
        reason, line = exc.args
        raise errors.StatusError('%s:%d: %s' % (path, line, reason)) from None
    return result


def _count_instance(instances, parsed, line):
    """dpkg's parse_find_set_slot: at most one non-coinstallable instance."""
    status = parsed.get('_status', ('unknown', 'ok', 'not-installed'))[2]
    name = parsed['package'].lower()
    arch = parsed.get('architecture', '')
    slots = instances.setdefault(name, {})
    counted = list(slots.values()) + [(status != 'not-installed',
                                       parsed.get('_multi_arch') == 'same')]
    slots[arch] = counted[-1]
    single = sum(1 for installed, same in counted if installed and not same)
    multi = sum(1 for installed, same in counted if installed and same)
    if single > 1:
        raise Refused('multiple non-coinstallable package instances '
                      'present; most probably due to an upgrade from an '
                      'unofficial dpkg', line)
    if single and multi:
        raise Refused('mixed non-coinstallable and coinstallable package '
                      'instances present; most probably due to an upgrade '
                      'from an unofficial dpkg', line)
