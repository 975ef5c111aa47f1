import { PerformanceObserver } from 'node:perf_hooks';
import * as v8 from 'node:v8';

/**
 * V8 heap sizing of the api process (docs/operations.md "Memory"), applied by src/main.ts before
 * the application is loaded. V8's defaults suit a browser tab more than a server whose live heap is
 * ~55 MB: under load the old generation grew to 2-2.5x its live size before a full collection
 * (peak RSS 400-475 MB at 50 concurrent calls, bench/README.md) and the young generation took its
 * 64-bit maximum of two 16 MB semi-spaces. Measured with bench/lib/memory-bench.mjs:
 * - `--heap-growing-percent` (old generation): a full collection once the old generation has grown
 *   this many percent over what the last one left, instead of V8's dynamic factor (up to 4x).
 *   Full collections are mostly concurrent and cheap on a ~55 MB live heap;
 * - young generation at most YOUNG_GENERATION_SEMI_SPACE_MB per semi-space: V8 has no runtime
 *   switch for its maximum (`--max-semi-space-size` is read when the heap is created), so
 *   capYoungGeneration stops its growth at that size with `--semi-space-growth-factor` (a soft
 *   cap; `npm start` and docker-compose.yml also give node the hard one).
 * An operator's own value wins: a flag given to node (command line or NODE_OPTIONS) is left as is.
 */
export const HEAP_GROWING_PERCENT = 20;

/** Maximum size of one of the young generation's two semi-spaces (MB); V8's 64-bit default is 16. */
export const YOUNG_GENERATION_SEMI_SPACE_MB = 8;

/** The V8 flags given to this process by the command line or NODE_OPTIONS, normalised to `--name` (dashes). */
export function givenV8Flags(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? '',
): Set<string> {
  const names = new Set<string>();
  for (const arg of [...execArgv, ...nodeOptions.split(/\s+/)]) {
    const m = /^--(?:no-)?([a-z0-9_-]+)/i.exec(arg);
    if (m) names.add(`--${m[1].toLowerCase().replace(/_/g, '-')}`);
  }
  return names;
}

const MB = 1024 * 1024;

/**
 * Capacity of one semi-space now (bytes): what it holds plus what it can still take. Not V8's
 * `space_size`, which is the memory committed (both semi-spaces, or one while V8 has released the
 * other at idle).
 */
function semiSpaceBytes(): number {
  const s = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
  return s ? s.space_used_size + s.space_available_size : 0;
}

/**
 * The growth factor that takes a semi-space of `currentBytes` capacity at most to `maxMb` MB in one
 * step (V8 grows it to min(its maximum, factor × current), in powers of two from 1 MB; the
 * capacity it reports is a little under the power of two, page headers excluded): 1 (no growth)
 * at or over the cap.
 */
export function semiSpaceGrowthFactor(currentBytes: number, maxMb: number): number {
  if (currentBytes <= 0) return 1;
  const currentMb = 2 ** Math.round(Math.log2(currentBytes / MB));
  return currentMb >= maxMb ? 1 : Math.max(1, Math.floor(maxMb / currentMb));
}

/**
 * Keeps the young generation at most `semiSpaceMb` per semi-space: after every collection the
 * growth factor is set so that the next growth lands on the cap, and to 1 once it
 * is reached (V8 grows the young generation only at a collection, in powers of two from 1 MB, and
 * may shrink it when the process is idle; the factor is then raised again). Set first with no
 * growth at all, so the boot's synchronous module loading (no callback runs meanwhile) keeps the
 * young generation at its initial size. A soft cap: on a machine short of CPU, V8 sometimes grew
 * the young generation past it anyway, late in a load with the factor at 1 (3 runs in 12 of
 * bench/lib/memory-bench.mjs; some growth path the factor does not govern). The hard limit is
 * `--max-semi-space-size` on node's command line (`npm start` and docker-compose.yml give it).
 * @returns a function that stops the observer (tests)
 */
export function capYoungGeneration(semiSpaceMb: number): () => void {
  let factor = 0;
  const adjust = (next: number) => {
    if (next === factor) return;
    v8.setFlagsFromString(`--semi-space-growth-factor=${next}`);
    factor = next;
  };
  adjust(1);
  // any collection may resize the young generation (a full one may shrink it): adjust after each
  const observer = new PerformanceObserver(() => adjust(semiSpaceGrowthFactor(semiSpaceBytes(), semiSpaceMb)));
  observer.observe({ entryTypes: ['gc'] });
  return () => observer.disconnect();
}

/**
 * Applies the api's heap sizing (see HEAP_GROWING_PERCENT) unless node was given the flag itself.
 * Call once, first thing in the api process; the young-generation cap starts growing only when
 * `startYoungGrowth` (returned) is called, after the boot.
 * @returns what was applied (for the log) and `startYoungGrowth`
 */
export function tuneApiHeap(given: Set<string> = givenV8Flags()): { applied: string[]; startYoungGrowth: () => void } {
  const applied: string[] = [];
  if (!given.has('--heap-growing-percent')) {
    v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
    applied.push(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  }
  let startYoungGrowth = () => undefined as void;
  if (!given.has('--max-semi-space-size') && !given.has('--semi-space-growth-factor')) {
    // no growth during the boot: the observer's callbacks cannot run while modules load
    v8.setFlagsFromString('--semi-space-growth-factor=1');
    startYoungGrowth = () => void capYoungGeneration(YOUNG_GENERATION_SEMI_SPACE_MB);
    applied.push(`young generation at most ${YOUNG_GENERATION_SEMI_SPACE_MB} MB per semi-space`);
  }
  return { applied, startYoungGrowth };
}
