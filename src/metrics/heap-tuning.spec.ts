import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import ts from 'typescript';
import { givenV8Flags, HEAP_GROWING_PERCENT, semiSpaceGrowthFactor, YOUNG_GENERATION_SEMI_SPACE_MB } from './heap-tuning';

const MB = 1024 * 1024;

describe('heap tuning of the api (src/metrics/heap-tuning.ts)', () => {
  it('reads the V8 flags given on the command line and in NODE_OPTIONS, with dashes or underscores', () => {
    const flags = givenV8Flags(['--max_semi_space_size=4', '--inspect'], ' --heap-growing-percent=30  --no-opt ');
    expect([...flags].sort()).toEqual(['--heap-growing-percent', '--inspect', '--max-semi-space-size', '--opt']);
    expect(givenV8Flags([], '').size).toBe(0);
  });

  it('picks the growth factor that lands on the cap in one step, and 1 at or over it', () => {
    // capacities as V8 reports them: a little under the power of two (page headers)
    expect(semiSpaceGrowthFactor(0.98 * MB, 8)).toBe(8);
    expect(semiSpaceGrowthFactor(1.97 * MB, 8)).toBe(4);
    expect(semiSpaceGrowthFactor(3.93 * MB, 8)).toBe(2);
    expect(semiSpaceGrowthFactor(7.87 * MB, 8)).toBe(1);
    expect(semiSpaceGrowthFactor(15.7 * MB, 8)).toBe(1);
    expect(semiSpaceGrowthFactor(0, 8)).toBe(1);
  });

  it('keeps the young generation under the cap in a process that allocates, where V8 alone grows it past; a flag given to node wins', () => {
    // A fresh node process (jest's own heap has grown long before): this module compiled to
    // JavaScript, then the api's sequence (tuneApiHeap, then startYoungGrowth after the boot).
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heap-tuning-'));
    try {
      const source = fs.readFileSync(path.join(__dirname, 'heap-tuning.ts'), 'utf8');
      const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } });
      fs.writeFileSync(path.join(dir, 'heap-tuning.js'), js.outputText);
      fs.writeFileSync(
        path.join(dir, 'run.js'),
        `const v8 = require('node:v8');
        const mode = process.argv[2];
        const given = mode === 'given' ? new Set(['--max-semi-space-size', '--heap-growing-percent']) : new Set();
        const heap = mode === 'plain' ? null : require('./heap-tuning.js').tuneApiHeap(given);
        if (heap) heap.startYoungGrowth();
        const size = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
        let live = [], max = 0, round = 0;
        (function next() {
          for (let i = 0; i < 5000; i++) live.push({ i, s: 'x' + i, a: [round, i] });
          if (live.length > 60000) live = live.slice(30000);
          max = Math.max(max, size());
          if (++round < 400) setImmediate(next);
          else process.stdout.write(JSON.stringify({ max, applied: heap ? heap.applied : null }));
        })();`,
      );
      const run = (mode: string) =>
        JSON.parse(execFileSync(process.execPath, [path.join(dir, 'run.js'), mode], { encoding: 'utf8' })) as {
          max: number;
          applied: string[] | null;
        };
      const cap = 2 * YOUNG_GENERATION_SEMI_SPACE_MB * MB;
      const tuned = run('tuned');
      expect(tuned.applied).toEqual([`--heap-growing-percent=${HEAP_GROWING_PERCENT}`, expect.stringContaining('young generation')]);
      expect(tuned.max).toBeLessThanOrEqual(cap);
      expect(run('plain').max).toBeGreaterThan(cap);
      const given = run('given');
      expect(given.applied).toEqual([]);
      expect(given.max).toBeGreaterThan(cap);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
