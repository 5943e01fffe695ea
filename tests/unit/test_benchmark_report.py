"""benchmark.json to its figures, its Markdown table and its SVG plot."""

import copy
import json
import os
from xml.etree import ElementTree

import fixtures
import testtools

from akanda_slim import errors
from akanda_slim.footprint import benchmark_figures
from akanda_slim.footprint import benchmark_markdown
from akanda_slim.footprint import benchmark_results
from akanda_slim.footprint import benchmark_svg

SURFACE = ('installed_packages', 'running_services', 'listening_sockets',
           'setuid_setgid_files')


def verify_report(ssh, finished, memory_kib, failing=(), packages=100,
                  qcow2_mib=100):
    """A verify report (runner.Session.report()) of len(ssh) boots."""
    return {
        'boots': [{'ssh_ready_seconds': s, 'boot_finished_seconds': f,
                   'memory_used_kib': m, 'system_state': 'running'}
                  for s, f, m in zip(ssh, finished, memory_kib)],
        'checks': [{'name': name, 'status': 'fail' if name in failing
                    else 'pass', 'detail': ''}
                   for name in ('login', 'routing', 'reload')],
        'surface': {name: {'count': packages, 'items': []}
                    for name in SURFACE},
        'qcow2_bytes': qcow2_mib * 2 ** 20,
        'copy_seconds': 0.4,
    }


def sweep_result(image, memory, status, reason=''):
    return {'image': image, 'memory_mib': memory, 'status': status,
            'reason': reason, 'log_dir': None}


SWEEP = {'sizes_mib': [160, 128, 96], 'results': [
    sweep_result('slim', 160, 'pass'),
    sweep_result('slim', 128, 'pass'),
    sweep_result('slim', 96, 'fail', 'out of memory (cloud-init); failed: '
                 'boot'),
    sweep_result('baseline', 160, 'pass'),
    sweep_result('baseline', 128, 'fail', 'kernel panic (deadlocked); '
                 'failed: boot'),
    sweep_result('baseline', 96, 'not run', 'a larger size failed'),
]}


def facts(sweep=SWEEP):
    return {
        'baseline': {
            'report': verify_report([20.0, 24.0, 22.0], [40.0, 44.0, 42.0],
                                    [200 * 1024, 210 * 1024, 190 * 1024],
                                    packages=300, qcow2_mib=300),
            'build_seconds': 80.44,
            'sweep': [r for r in sweep['results']
                      if r['image'] == 'baseline'] if sweep else None},
        'slim': {
            'report': verify_report([12.0, 16.0, 14.0], [20.0, 30.0, 25.0],
                                    [100 * 1024, 90 * 1024, 95 * 1024],
                                    failing=('reload',), packages=120,
                                    qcow2_mib=100),
            'build_seconds': None,
            'sweep': [r for r in sweep['results']
                      if r['image'] == 'slim'] if sweep else None},
    }


def document(sweep=SWEEP):
    sweep = copy.deepcopy(sweep)  # each test may change its own
    measured = facts(sweep)
    return {
        'format': benchmark_results.FORMAT,
        'date': '2026-01-02T03:04:05Z',
        'command': 'akanda-slim benchmark --boots 3 --sweep 160,128,96',
        'source': {'commit': 'c0ffee' * 6 + 'c0ff', 'modified': False},
        'machine': {'cores': 2, 'memory_mib': 24 * 1024,
                    'cpu': 'Test CPU', 'accelerator': 'tcg'},
        'settings': {'boots': 3, 'memory_mib': 1024},
        'images': [{'role': 'baseline', 'path': 'b.qcow2'},
                   {'role': 'slim', 'path': 's.qcow2'}],
        'figures': benchmark_figures.records(measured),
        'boots': benchmark_figures.boot_records(measured),
        'sweep': sweep,
    }


def by_name(records):
    return {record['name']: record for record in records}


class FigureRecordsTest(testtools.TestCase):

    def test_every_boot_kept_and_the_median_taken(self):
        figure = by_name(benchmark_figures.records(facts()))[
            'QEMU start to boot finished']
        self.assertEqual({'baseline': [40.0, 44.0, 42.0],
                          'slim': [20.0, 30.0, 25.0]}, figure['values'])
        self.assertEqual({'baseline': 42.0, 'slim': 25.0}, figure['median'])
        self.assertEqual('s', figure['unit'])
        self.assertEqual({'compare': 'slim/baseline', 'at_most': 0.70},
                         figure['target'])

    def test_memory_is_shown_in_mib(self):
        figure = by_name(benchmark_figures.records(facts()))[
            'memory used after boot']
        self.assertEqual({'baseline': 200.0, 'slim': 95.0},
                         figure['median'])

    def test_single_values_checks_and_the_sweep_minimum(self):
        figures = by_name(benchmark_figures.records(facts()))
        self.assertEqual({'baseline': [300.0], 'slim': [100.0]},
                         figures['qcow2 size']['values'])
        self.assertEqual({'baseline': 3, 'slim': 2},
                         figures['checks passed on the first boot']['median'])
        self.assertEqual(
            {'baseline': 160, 'slim': 128},
            figures['smallest guest RAM passing every check']['median'])
        self.assertEqual({'baseline': [80.4], 'slim': []},
                         figures['image build']['values'])
        self.assertIsNone(figures['image build']['median']['slim'])

    def test_a_figure_no_image_has_is_left_out(self):
        measured = facts(sweep=None)
        measured['baseline']['build_seconds'] = None
        names = [r['name'] for r in benchmark_figures.records(measured)]
        self.assertNotIn('image build', names)
        self.assertNotIn('smallest guest RAM passing every check', names)
        self.assertIn('qcow2 size', names)

    def test_a_new_figure_is_one_more_definition(self):
        measured = facts()
        for image, seconds in (('baseline', 50.0), ('slim', 30.0)):
            for boot in measured[image]['report']['boots']:
                boot['router_ready_seconds'] = seconds
        extra = benchmark_figures.Figure(
            'QEMU start to router ready', 's',
            benchmark_figures.per_boot('router_ready_seconds'),
            benchmark_figures.ratio_at_most(0.7))
        record, = benchmark_figures.records(measured, (extra,))
        self.assertEqual({'baseline': 50.0, 'slim': 30.0}, record['median'])
        doc = document()
        doc['figures'].append(record)
        text = benchmark_markdown.render(benchmark_results.validate(doc))
        self.assertIn('| QEMU start to router ready | 50.0 s | 30.0 s | '
                      '0.60 | slim/baseline <= 0.70 | met |', text)

    def test_boots_in_turn_with_their_timeline_marks(self):
        boots = benchmark_figures.boot_records(facts())
        self.assertEqual(
            [('baseline', 1), ('slim', 1), ('baseline', 2), ('slim', 2),
             ('baseline', 3), ('slim', 3)],
            [(b['image'], b['number']) for b in boots])
        self.assertEqual([{'name': 'SSH ready', 'seconds': 12.0},
                          {'name': 'boot finished', 'seconds': 20.0}],
                         boots[1]['marks'])
        self.assertEqual(100.0, boots[1]['memory_used_mib'])


class MarkdownTest(testtools.TestCase):

    def test_the_table_says_medians_ratios_and_targets(self):
        text = benchmark_markdown.render(document())
        self.assertIn('| figure | baseline | slim | slim/baseline | target '
                      '| result |', text)
        self.assertIn('| QEMU start to boot finished | 42.0 s | 25.0 s | '
                      '0.60 | slim/baseline <= 0.70 | met |', text)
        self.assertIn('| memory used after boot | 200.0 MiB | 95.0 MiB | '
                      '0.47 | slim/baseline <= 0.80 | met |', text)
        self.assertIn('| qcow2 size | 300.0 MiB | 100.0 MiB | 0.33 | '
                      'slim/baseline <= 0.30 | **missed** |', text)
        self.assertIn('| checks passed on the first boot | 3 | 2 | 0.67 | '
                      'slim/baseline >= 1.00 | **missed** |', text)
        self.assertIn('| smallest guest RAM passing every check | 160 MiB | '
                      '128 MiB | 0.80 | slim <= 96 MiB | **missed** |', text)
        self.assertIn('| image build | 80.4 s | - | - |  |  |', text)

    def test_the_header_says_date_source_machine_and_command(self):
        text = benchmark_markdown.render(document())
        self.assertIn('- Date: 2026-01-02T03:04:05Z', text)
        self.assertIn('- Source: `%s`' % ('c0ffee' * 6 + 'c0ff'), text)
        self.assertIn('- Machine: 2 cores, 24.0 GiB, Test CPU, QEMU TCG',
                      text)
        self.assertIn('- Command: `akanda-slim benchmark --boots 3 --sweep '
                      '160,128,96`', text)
        self.assertLess(text.index('- Command'), text.index('| figure'))

    def test_sweep_per_size_with_reasons(self):
        text = benchmark_markdown.render(document())
        self.assertIn('| 128 MiB | fail: kernel panic (deadlocked); failed: '
                      'boot | pass |', text)
        self.assertIn('| 96 MiB | not run: a larger size failed | fail: out '
                      'of memory (cloud-init); failed: boot |', text)

    def test_no_sweep_no_sweep_table(self):
        text = benchmark_markdown.render(document(sweep=None))
        self.assertNotIn('RAM sweep', text)

    def test_a_figure_name_with_a_pipe_keeps_the_table(self):
        doc = document()
        doc['figures'][0]['name'] = 'a | b'
        self.assertIn('| a \\| b |', benchmark_markdown.render(doc))

    def test_local_changes_and_no_checkout_are_said(self):
        doc = document()
        doc['source']['modified'] = True
        self.assertIn('with local changes', benchmark_markdown.render(doc))
        doc['source'] = None
        self.assertIn('- Source: not a git checkout',
                      benchmark_markdown.render(doc))


class SvgTest(testtools.TestCase):

    def _parse(self, doc):
        return ElementTree.fromstring(
            benchmark_svg.render(doc).encode('utf-8'))

    def _titles(self, root):
        return [t.text for t in root.iter('{http://www.w3.org/2000/svg}'
                                          'title')]

    def test_one_bar_segment_per_mark_of_every_boot(self):
        titles = self._titles(self._parse(document()))
        for image, number, finished in (('baseline', 1, 40.0),
                                        ('slim', 3, 25.0)):
            self.assertIn('%s boot %d: boot finished at %.1f s'
                          % (image, number, finished), titles)
        self.assertEqual(12, len([t for t in titles if ' boot ' in t]))

    def test_sweep_cells_say_pass_and_fail_with_the_reason(self):
        root = self._parse(document())
        titles = self._titles(root)
        self.assertIn('slim at 96 MiB: fail: out of memory (cloud-init); '
                      'failed: boot', titles)
        self.assertIn('baseline at 160 MiB: pass', titles)
        texts = [t.text for t in root.iter('{http://www.w3.org/2000/svg}'
                                           'text')]
        self.assertEqual((3, 2, 1), (texts.count('pass'), texts.count('fail'),
                                     texts.count('not run')))

    def test_an_image_not_swept_says_so(self):
        doc = document()
        doc['sweep']['results'] = [r for r in doc['sweep']['results']
                                   if r['image'] == 'slim']
        root = self._parse(doc)
        self.assertIn('baseline at 96 MiB: not swept', self._titles(root))

    def test_without_a_sweep_it_says_how_to_run_one(self):
        root = self._parse(document(sweep=None))
        texts = [t.text for t in root.iter('{http://www.w3.org/2000/svg}'
                                           'text')]
        self.assertTrue(any('--sweep' in (t or '') for t in texts))

    def test_the_subtitle_says_the_commit_and_local_changes(self):
        doc = document()
        doc['source']['modified'] = True
        self.assertIn('commit c0ffeec0ffee with local changes; 2 cores, '
                      'QEMU TCG', benchmark_svg.render(doc))
        doc['source'] = None
        self.assertIn('no git commit', benchmark_svg.render(doc))

    def test_tick_step_keeps_the_axis_readable(self):
        for longest in (3, 30, 90, 400, 3000):
            self.assertLessEqual(longest / benchmark_svg.tick_step(longest),
                                 8)


class ValidateTest(testtools.TestCase):

    def _refused(self, change, says):
        doc = copy.deepcopy(document())
        change(doc)
        error = self.assertRaises(errors.InputError,
                                  benchmark_results.validate, doc)
        self.assertIn(says, str(error))
        self.assertEqual(2, error.exit_code)

    def test_a_good_document_passes_through_json(self):
        doc = json.loads(benchmark_results.dumps(document()))
        self.assertEqual(doc, benchmark_results.validate(doc))

    def test_wrong_format(self):
        self._refused(lambda d: d.update(format='other'), 'format')

    def test_missing_figures(self):
        self._refused(lambda d: d.pop('figures'), 'figures: expected a list')

    def test_a_value_that_is_no_number(self):
        self._refused(
            lambda d: d['figures'][1]['values']['slim'].append('fast'),
            'figures[1].values.slim[3]: expected a number')

    def test_a_target_with_no_bound(self):
        self._refused(lambda d: d['figures'][1]['target'].pop('at_most'),
                      'figures[1].target: expected one of at_most, at_least')

    def test_an_unknown_image(self):
        self._refused(lambda d: d['boots'][0].update(image='other'),
                      'boots[0].image: expected one of baseline, slim')

    def test_a_sweep_status_that_is_unknown(self):
        self._refused(
            lambda d: d['sweep']['results'][0].update(status='maybe'),
            'sweep.results[0].status')

    def test_a_commit_that_is_no_string(self):
        self._refused(lambda d: d['source'].update(commit=1),
                      'source.commit: expected a string')

    def test_a_boolean_is_no_count(self):
        self._refused(lambda d: d['machine'].update(cores=True),
                      'machine.cores')


class LoadSaveTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path

    def _write(self, text):
        with open(os.path.join(self.dir, 'benchmark.json'), 'w') as out:
            out.write(text)

    def test_no_file_bad_json_and_no_object_are_input_errors(self):
        for text in (None, '{', '[1, 2]'):
            if text is not None:
                self._write(text)
            error = self.assertRaises(errors.InputError,
                                      benchmark_results.load, self.dir)
            self.assertEqual(1, len(str(error).splitlines()))

    def test_save_replaces_the_older_report_and_leaves_no_partial(self):
        self._write('old')
        benchmark_results.save(self.dir, {'benchmark.json': 'new\n',
                                          'benchmark.md': 'table\n'})
        self.assertEqual(['benchmark.json', 'benchmark.md'],
                         sorted(os.listdir(self.dir)))
        with open(os.path.join(self.dir, 'benchmark.json')) as saved:
            self.assertEqual('new\n', saved.read())

    def test_a_failed_save_keeps_the_older_report_whole(self):
        self._write('old')
        os.mkdir(os.path.join(self.dir, 'benchmark.md'))  # cannot replace
        self.assertRaises(OSError, benchmark_results.save, self.dir,
                          {'benchmark.json': 'new', 'benchmark.md': 'x'})
        with open(os.path.join(self.dir, 'benchmark.json')) as saved:
            self.assertEqual('old', saved.read())
        self.assertEqual(['benchmark.json', 'benchmark.md'],
                         sorted(os.listdir(self.dir)))
