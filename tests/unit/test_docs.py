"""The user documentation: a short README, product words, true to code.

Checked files: README.rst, devstack/README.rst, every element's README.rst,
everything under doc/ that is text, and the release notes.

Process words are words about how or by whom the project was developed
rather than about the product: development stops and their gates, footprint
passes, sessions and helpers in that sense, first person, issue numbers,
"this machine" and the host paths and lock file of a developer's machine.
Ordinary meanings are allowed narrowly, one phrase at a time (ALLOWED):
an SSH session, apt's ``apt-helper`` program, the kernel's mount helper
programs, and "I/O".
"""

import glob
import os
import re

import testtools

from akanda_slim import cli
from akanda_slim import commands

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
README = os.path.join(REPO, 'README.rst')
README_LINE_LIMIT = 250

PROCESS_WORDS = (
    (re.compile(r'\bstop [0-9]', re.I), 'a development stop'),
    (re.compile(r'\bgate of\b', re.I), 'a development gate'),
    (re.compile(r'\bsessions?\b', re.I), 'session'),
    (re.compile(r'\bhelpers?\b', re.I), 'helper'),
    (re.compile(r'\bI\b'), 'first person'),
    (re.compile(r'\b(we|our|my)\b', re.I), 'first person'),
    (re.compile(r'\b(first|second|third|fourth|fifth|sixth|seventh) pass\b'
                r'|\bpass [0-9]', re.I), 'a footprint pass'),
    (re.compile(r'\bissues? #?[0-9]', re.I), 'an issue number'),
    (re.compile(r'\bthis (machine|host)\b', re.I), 'this machine'),
    (re.compile(r'/work/|/var/tmp/dev|heavy\.lock'), 'a developer path'),
)
# Ordinary meanings, removed from a line before the words above are sought.
ALLOWED = re.compile(
    r'\bSSH sessions?\b'        # an SSH connection
    r'|\bapt-helper\b'          # apt's own program
    r'|\bmount helpers?\b'      # mount(8)'s helper programs
    r'|\bI/O\b', re.I)
GLOBAL_OPTIONS = {'--help', '--version', '--verbose'}


def documentation_files():
    """Paths of every checked file, relative to the repository."""
    patterns = ('README.rst', 'devstack/README.rst', 'elements/*/README.rst',
                'doc/**/*', 'releasenotes/**/*')
    found = set()
    for pattern in patterns:
        for path in glob.glob(os.path.join(REPO, pattern), recursive=True):
            if os.path.isfile(path):
                found.add(os.path.relpath(path, REPO))
    return sorted(found)


def process_words(text):
    """[(line number, what)] of the process words in ``text``."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        line = ALLOWED.sub('', line)
        for pattern, what in PROCESS_WORDS:
            if pattern.search(line):
                found.append((number, what))
    return found


def rst_files():
    return [README] + sorted(glob.glob(
        os.path.join(REPO, 'doc', '**', '*.rst'), recursive=True))


def command_snippets(text):
    """(command, snippet) of each command line written as code in ``text``.

    ``akanda-slim CMD ...`` in an inline literal, or on a literal block's
    line with its continuation lines; and inline literals that start with
    a command name (``plan --json``).
    """
    names = commands.names()
    for literal in re.findall(r'``(.+?)``', text, re.S):
        words = literal.split()
        if words[:1] == ['akanda-slim'] and len(words) > 1:
            if re.fullmatch(r'[a-z][a-z-]*', words[1]):
                yield words[1], ' '.join(words[2:])
        elif words and words[0] in names and len(words) > 1:
            yield words[0], ' '.join(words[1:])
    snippet = None
    for line in text.splitlines():
        stripped = line.strip()
        if snippet is not None and line.startswith(' ') and (
                snippet[1].endswith('\\') or stripped.startswith(('[', '--'))):
            snippet = (snippet[0], snippet[1] + ' ' + stripped)
            continue
        if snippet is not None:
            yield snippet
            snippet = None
        match = re.match(r'\s{4,}.*?\bakanda-slim\s+([a-z][a-z-]*)(.*)$',
                         line)
        if match:
            snippet = (match.group(1), match.group(2).strip())
    if snippet is not None:
        yield snippet


def options_of(command):
    """The long options of ``akanda-slim COMMAND``, read from its help."""
    parser = cli.build_parser([command])
    sub = parser._subparsers._group_actions[0].choices[command]
    return set(re.findall(r'--[a-z][a-z-]*', sub.format_help()))


class ReadmeTest(testtools.TestCase):

    def test_readme_is_short(self):
        with open(README) as text:
            lines = len(text.read().splitlines())
        self.assertLess(lines, README_LINE_LIMIT,
                        'README.rst has %d lines; reference material goes '
                        'to doc/source' % lines)


class ProcessWordsTest(testtools.TestCase):

    def test_no_process_words(self):
        found = []
        for path in documentation_files():
            try:
                with open(os.path.join(REPO, path), encoding='utf-8') as f:
                    text = f.read()
            except UnicodeDecodeError:
                continue  # not text: nothing to read
            found += ['%s:%d: %s' % (path, number, what)
                      for number, what in process_words(text)]
            found += ['%s: file name: %s' % (path, what)
                      for _, what in process_words(path.replace('-', ' '))]
        self.assertEqual([], found)

    def test_the_word_lists_catch_and_allow(self):
        self.assertEqual([(1, 'first person')],
                         process_words('I stopped the run'))
        self.assertEqual([(2, 'a development gate')],
                         process_words('ok\nthe Gate of stop x'))
        self.assertEqual([(1, 'a development stop')],
                         process_words('at stop 13 it failed'))
        self.assertEqual([(1, 'a footprint pass')],
                         process_words('Footprint, fifth pass: a swap file'))
        self.assertEqual([(1, 'session')],
                         process_words('the session ran out of time'))
        self.assertEqual([(1, 'helper')],
                         process_words("other helpers' builds"))
        self.assertEqual([(1, 'a developer path')],
                         process_words('flock /work/heavy.lock cmd'))
        self.assertEqual([], process_words(
            "its SSH session died; apt's apt-helper; the mount helper of "
            "dev-hugepages.mount; disk I/O"))
        self.assertEqual([], process_words('``-i`` ignores case'))


class LinksTest(testtools.TestCase):

    def test_relative_links_and_images_exist(self):
        missing = []
        for path in rst_files():
            with open(path) as text:
                content = text.read()
            targets = re.findall(r'`[^`<]*<([^>`]+)>`_', content, re.S)
            targets += re.findall(r'^\.\. (?:image|figure):: (\S+)',
                                  content, re.M)
            for target in targets:
                target = ' '.join(target.split())
                if re.match(r'[a-z]+://', target):
                    continue
                resolved = os.path.join(os.path.dirname(path), target)
                if not os.path.exists(resolved):
                    missing.append('%s: %s' % (os.path.relpath(path, REPO),
                                               target))
        self.assertEqual([], missing)

    def test_every_doc_page_is_in_the_index(self):
        source = os.path.join(REPO, 'doc', 'source')
        with open(os.path.join(source, 'index.rst')) as text:
            index = text.read()
        pages = [os.path.splitext(name)[0] for name in os.listdir(source)
                 if name.endswith('.rst') and name != 'index.rst']
        self.assertTrue(pages)
        for page in pages:
            self.assertRegex(index, r'(?m)^   %s$' % re.escape(page))
            self.assertIn('<%s.rst>`_' % page, index)


class CommandsDocumentedTest(testtools.TestCase):

    def test_documented_commands_and_options_exist(self):
        names = commands.names()
        wrong = []
        for path in rst_files():
            with open(path) as text:
                content = text.read()
            where = os.path.relpath(path, REPO)
            for command, snippet in command_snippets(content):
                if command not in names:
                    wrong.append('%s: no command %r' % (where, command))
                    continue
                unknown = (set(re.findall(r'(?<![\w-])--[a-z][a-z-]*',
                                          snippet))
                           - options_of(command) - GLOBAL_OPTIONS)
                wrong += ['%s: akanda-slim %s has no %s'
                          % (where, command, option)
                          for option in sorted(unknown)]
        self.assertEqual([], wrong)

    def test_snippets_are_found(self):
        text = ('Run ``akanda-slim verify IMAGE --boots 5``, not '
                '``akanda-slim ...``::\n\n'
                '    akanda-slim plan --root ROOT\n'
                '                     [--json]\n'
                '    eval "$(akanda-slim dib-env --release trixie)"\n\n'
                '``apply --json`` adds a key.\n')
        self.assertEqual(
            [('verify', 'IMAGE --boots 5'), ('apply', '--json'),
             ('plan', '--root ROOT [--json]'),
             ('dib-env', '--release trixie)"')],
            list(command_snippets(text)))


class ElementVariablesTest(testtools.TestCase):
    """Each element's README documents its variables as DIB's do."""

    FIELDS = (':Required:', ':Default:', ':Description:', ':Example:')

    @staticmethod
    def documented(readme):
        """{variable: its block of fields} of an element README."""
        blocks = re.findall(r'(?m)^([A-Z][A-Za-z0-9_]+)\n((?:  .*\n?)+)',
                            readme)
        return dict(blocks)

    def test_every_variable_is_documented_in_dib_format(self):
        problems = []
        for element in sorted(glob.glob(os.path.join(REPO, 'elements', '*'))):
            name = os.path.basename(element)
            readme_path = os.path.join(element, 'README.rst')
            if not os.path.isfile(readme_path):
                problems.append('%s: no README.rst' % name)
                continue
            with open(readme_path) as text:
                documented = self.documented(text.read())
            settable = set()
            for script in glob.glob(os.path.join(element, 'environment.d',
                                                 '*')):
                with open(script) as text:
                    settable |= set(re.findall(
                        r'(?m)^export (\w+)="?\$\{\1:?-', text.read()))
            for variable in sorted(settable - set(documented)):
                problems.append('%s: %s is not documented' % (name, variable))
            code = ''
            for path in glob.glob(os.path.join(element, '**', '*'),
                                  recursive=True):
                if os.path.isfile(path) and path != readme_path:
                    with open(path, errors='replace') as text:
                        code += text.read()
            # DIB's source-repositories element reads these for each
            # source-repository-NAME file of an element.
            for path in glob.glob(os.path.join(element,
                                               'source-repository-*')):
                repo = os.path.basename(path)[len('source-repository-'):]
                code += ' DIB_REPOLOCATION_%s DIB_REPOREF_%s' % (
                    (repo.replace('-', '_'),) * 2)
            for variable, block in sorted(documented.items()):
                if variable not in code:
                    problems.append('%s: %s is not used by the element'
                                    % (name, variable))
                for field in self.FIELDS:
                    if field not in block:
                        problems.append('%s: %s has no %s'
                                        % (name, variable, field))
        self.assertEqual([], problems)
