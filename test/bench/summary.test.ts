// The benchmark's arithmetic and its report, without running anything: medians and spreads over runs,
// every target of issue 14 judged as a ratio, and the tables that print them.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatCell, markdownFigures, markdownTargets, textTargets } from '../../bench/report.js';
import { addSample, evaluateTargets, idleFigure, issueTargets, spread, summarise, type FigureDef, type Samples } from '../../bench/summary.js';

test('spread: median of an odd and an even count, with the range; non-finite values dropped', () => {
  assert.deepEqual(spread([3, 1, 2]), { median: 2, min: 1, max: 3, runs: 3 });
  assert.deepEqual(spread([4, 1, 3, 2]), { median: 2.5, min: 1, max: 4, runs: 4 });
  assert.deepEqual(spread([5, Number.NaN, Number.POSITIVE_INFINITY]), { median: 5, min: 5, max: 5, runs: 1 });
  assert.equal(spread([]), undefined);
  assert.equal(spread([Number.NaN]), undefined);
});

test('summarise: one spread per path that has samples, in the order of the definitions', () => {
  const samples: Samples = {};
  [500, 520, 480].forEach((value, i) => addSample(samples, 'bulk', 'direct', value, i + 1));
  [400, 560, 300].forEach((value, i) => addSample(samples, 'bulk', 'gateway', value, i + 1));
  addSample(samples, 'cpuPerGB', 'squid', 1, 1);
  const defs: FigureDef[] = [
    { id: 'cpuPerGB', label: 'CPU', unit: 's/GB', notApplicable: ['direct'] },
    { id: 'bulk', label: 'bulk', unit: 'MB/s' },
  ];
  const [cpu, bulk] = summarise(defs, samples);
  assert.deepEqual(Object.keys(cpu?.values ?? {}), ['squid']);
  assert.deepEqual(bulk?.values.direct, { median: 500, min: 480, max: 520, runs: 3 });
  assert.deepEqual(bulk?.values.gateway, { median: 400, min: 300, max: 560, runs: 3 });
  assert.equal(bulk?.values.pipe, undefined);
});

/** Figures where every target is met by `gateway` against the references below, or missed by a hair. */
function figures(gateway: { bulk: number; cpu: number; requests: number; setup: number; idle: number; carried: number[]; p99: number }): ReturnType<typeof summarise> {
  const samples: Samples = {};
  const add = (id: string, path: Parameters<typeof addSample>[2], values: number[]): void => {
    values.forEach((value, i) => addSample(samples, id, path, value, i + 1));
  };
  add('bulk', 'direct', [500, 500, 500]);
  add('bulk', 'gateway', [gateway.bulk]);
  add('cpuPerGB', 'squid', [1.0]);
  add('cpuPerGB', 'gateway', [gateway.cpu]);
  add('requests', 'direct', [10_000]);
  add('requests', 'squid', [9_000]);
  add('requests', 'gateway', [gateway.requests]);
  add('setup', 'direct', [600]);
  add('setup', 'gateway', [gateway.setup]);
  add(idleFigure(1_000), 'gateway', [gateway.idle]);
  add(idleFigure(9_950), 'gateway', [gateway.idle]);
  add('agentsCarried', 'gateway', gateway.carried);
  add('agentsP99', 'squid', [100]);
  add('agentsP99', 'gateway', [gateway.p99]);
  const defs = ['bulk', 'cpuPerGB', 'requests', 'setup', idleFigure(1_000), idleFigure(9_950), 'agentsCarried', 'agentsP99'].map((id) => ({ id, label: id, unit: '' }));
  return summarise(defs, samples);
}

test('issue 14 targets: each judged on the ratio to its reference, at its bound', () => {
  const specs = issueTargets([1_000, 9_950], 5_000);
  const atBounds = evaluateTargets(specs, figures({ bulk: 475, cpu: 1.0, requests: 9_500, setup: 570, idle: 16, carried: [5_000, 8_000, 5_000], p99: 110 }));
  assert.deepEqual(
    atBounds.map((t) => [t.text, t.met]),
    [
      ['bulk download ≥ 0.95× direct', true],
      ["proxy CPU per GB ≤ Squid's", true],
      ['requests/s over open tunnels ≥ 1.0× Squid', true],
      ['requests/s over open tunnels ≥ 0.95× direct', true],
      ['tunnel set-ups/s ≥ 0.95× direct', true],
      ['≤ 16 KB per idle tunnel at 1,000', true],
      ['≤ 16 KB per idle tunnel at 9,950', true],
      ['≥ 5,000 agents carried, every run', true],
      ["p99 upload at 5,000 agents ≤ 1.1× Squid's", true],
    ],
  );
  assert.deepEqual(atBounds.map((t) => t.aim), [false, false, false, true, false, false, false, false, false]);
  assert.equal(atBounds[0]?.ratio, 0.95);
  assert.equal(atBounds[8]?.ratio, 1.1);

  // Each figure a little on the wrong side; carried is judged on the least of the runs, not the median.
  const missed = evaluateTargets(specs, figures({ bulk: 474, cpu: 1.01, requests: 8_999, setup: 569, idle: 16.1, carried: [8_000, 8_000, 2_000], p99: 111 }));
  assert.deepEqual(missed.map((t) => t.met), [false, false, false, false, false, false, false, false, false]);
  assert.equal(missed[7]?.ratio, 0.4);
});

test('targets: a figure not measured is neither met nor missed', () => {
  const [bulk] = evaluateTargets(issueTargets([1_000], 5_000), summarise([{ id: 'bulk', label: 'bulk', unit: 'MB/s' }], { bulk: { gateway: [400] } }));
  assert.equal(bulk?.ratio, undefined);
  assert.equal(bulk?.met, undefined);
});

test('report: median with its range, n/a where a path cannot have the figure, targets as met / NOT MET', () => {
  const samples: Samples = {};
  [482, 568, 530].forEach((value, i) => addSample(samples, 'bulk', 'direct', value, i + 1));
  addSample(samples, 'bulk', 'gateway', 412.5, 1);
  [0.94, 1.05, 1.0].forEach((value, i) => addSample(samples, 'cpuPerGB', 'squid', value, i + 1));
  const [bulk, cpu] = summarise(
    [
      { id: 'bulk', label: 'bulk download', unit: 'MB/s' },
      { id: 'cpuPerGB', label: 'proxy CPU per GB', unit: 's/GB', notApplicable: ['direct'] },
    ],
    samples,
  );
  assert.ok(bulk !== undefined && cpu !== undefined);
  assert.equal(formatCell(bulk, 'direct'), '530 (482–568)');
  assert.equal(formatCell(bulk, 'gateway'), '413');
  assert.equal(formatCell(bulk, 'pipe'), '–');
  assert.equal(formatCell(cpu, 'direct'), 'n/a');
  assert.equal(formatCell(cpu, 'squid'), '1.00 (0.94–1.05)');
  const carried = summarise([{ id: 'agentsCarried', label: 'agents carried', unit: 'agents', whole: true }], { agentsCarried: { gateway: [8_000, 5_000, 0] } })[0];
  assert.ok(carried !== undefined);
  assert.equal(formatCell(carried, 'gateway'), '5,000 (0–8,000)');

  const table = markdownFigures([bulk, cpu]).split('\n');
  assert.equal(table[0], '| figure | direct | pipe relay | Squid | gateway | gateway https:// |');
  assert.equal(table[1], '|---|--:|--:|--:|--:|--:|');
  assert.equal(table[2], '| bulk download (MB/s) | 530 (482–568) | – | – | 413 | – |');
  assert.equal(table[3], '| proxy CPU per GB (s/GB) | n/a | – | 1.00 (0.94–1.05) | – | – |');

  const targets = [
    // A run missing a figure shows as "–"; one run alone shows nothing, the verdict's ratio is that run's.
    { text: 'bulk download ≥ 0.95× direct', aim: false, ratio: 0.778, met: false, byRun: [0.714, undefined, 0.9] },
    { text: 'requests/s ≥ 0.95× direct', aim: true, ratio: 1.02, met: true, byRun: [1.02] },
    { text: '≤ 16 KB per idle tunnel at 1,000', aim: false, ratio: undefined, met: undefined },
  ];
  const https = [
    { text: 'bulk download ≥ 0.95× direct', aim: false, ratio: 0.5, met: false },
    { text: 'requests/s ≥ 0.95× direct', aim: true, ratio: 0.96, met: true },
    { text: '≤ 16 KB per idle tunnel at 1,000', aim: false, ratio: 1.25, met: false },
  ];
  assert.deepEqual(markdownTargets(targets, https).split('\n'), [
    '| target | gateway | met | run by run | gateway https:// | would be |',
    '|---|--:|:-:|--:|--:|:-:|',
    '| bulk download ≥ 0.95× direct | 0.78× | NOT MET | 0.71 – 0.90 | 0.50× | NOT MET |',
    '| requests/s ≥ 0.95× direct (aim) | 1.02× | met |  | 0.96× | met |',
    '| ≤ 16 KB per idle tunnel at 1,000 | – | not measured |  | 1.25× | NOT MET |',
  ]);
  const text = textTargets(targets, https).split('\n');
  assert.match(text[1] ?? '', /^bulk download ≥ 0\.95× direct\s+0\.78×\s+NOT MET\s+0\.71 – 0\.90\s+0\.50×\s+NOT MET$/);
  assert.equal(new Set(text.map((line) => line.length)).size, 1, 'text columns are not aligned');
});

test('samples: each value at its run, a run without one left null and out of the median', () => {
  const samples: Samples = {};
  addSample(samples, 'setup', 'direct', 600, 1);
  addSample(samples, 'setup', 'direct', 700, 2);
  addSample(samples, 'setup', 'direct', 650, 3);
  // The gateway's measurement failed in run 2.
  addSample(samples, 'setup', 'gateway', 540, 1);
  addSample(samples, 'setup', 'gateway', 663, 3);
  assert.deepEqual(samples.setup?.gateway, [540, null, 663]);
  assert.deepEqual(spread(samples.setup?.gateway ?? []), { median: 601.5, min: 540, max: 663, runs: 2 });
});

test('targets run by run: each run\'s value over the reference of the same run; the verdict stays on the medians', () => {
  const samples: Samples = {};
  const add = (id: string, path: Parameters<typeof addSample>[2], values: (number | undefined)[]): void => {
    values.forEach((value, i) => {
      if (value !== undefined) addSample(samples, id, path, value, i + 1);
    });
  };
  // The gateway beats Squid in two runs of three, but both medians come from run 1, the one it lost: the
  // verdict is NOT MET, and the runs show how close it was.
  add('requests', 'squid', [9_000, 7_000, 12_000]);
  add('requests', 'gateway', [7_920, 7_700, 13_200]);
  add('setup', 'direct', [600, 700, 650]);
  add('setup', 'gateway', [570, undefined, 663]);
  add(idleFigure(1_000), 'gateway', [14, 16, 18]);
  const figures = summarise(['requests', 'setup', idleFigure(1_000)].map((id) => ({ id, label: id, unit: '' })), samples);
  const judged = evaluateTargets(issueTargets([1_000], 5_000), figures, 'gateway', samples);
  const target = (text: string): (typeof judged)[number] => {
    const found = judged.find((t) => t.text === text);
    assert.ok(found, text);
    return found;
  };
  const requests = target('requests/s over open tunnels ≥ 1.0× Squid');
  assert.equal(requests.met, false);
  assert.equal(requests.ratio, 0.88);
  assert.deepEqual(requests.byRun, [0.88, 1.1, 1.1]);
  const setup = target('tunnel set-ups/s ≥ 0.95× direct');
  assert.deepEqual(setup.byRun, [0.95, undefined, 663 / 650]);
  assert.deepEqual(target('≤ 16 KB per idle tunnel at 1,000').byRun, [14 / 16, 1, 18 / 16]);
  // Without the samples, no run-by-run ratios.
  assert.equal(evaluateTargets(issueTargets([1_000], 5_000), figures)[0]?.byRun, undefined);
});
