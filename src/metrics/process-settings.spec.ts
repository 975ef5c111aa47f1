import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/*
 * The api's process settings (docs/operations.md "Memory": V8's hard young-generation cap, one V8
 * helper thread, two malloc arenas) must be set where the process starts, so they are written in
 * four places: `npm start`, the Dockerfile, docker-compose.yml and the benchmarks' process start-up
 * (bench/lib/processes.mjs, which measures the api as `npm start` runs it). This keeps them equal.
 */
const ROOT = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

const NODE_ARGS = ['--max-semi-space-size=8', '--v8-pool-size=1'];
const ENV = { MALLOC_ARENA_MAX: '2' };

describe('api process settings', () => {
  it('npm start sets them', () => {
    const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start;
    expect(start).toBe(`MALLOC_ARENA_MAX=${ENV.MALLOC_ARENA_MAX} node ${NODE_ARGS.join(' ')} dist/src/main.js`);
  });

  it('the Dockerfile sets them', () => {
    const dockerfile = read('Dockerfile');
    expect(dockerfile).toContain(`ENV MALLOC_ARENA_MAX=${ENV.MALLOC_ARENA_MAX}\n`);
    expect(dockerfile).toContain(`CMD ${JSON.stringify(['node', ...NODE_ARGS, 'dist/src/main.js'])}`.replace(/","/g, '", "'));
  });

  it("docker-compose.yml's api service sets them", () => {
    const compose = read('docker-compose.yml');
    const api = /\n {2}api:\n([\s\S]*?)\n {2}\S/.exec(compose)?.[1] ?? '';
    expect(api).toContain(`NODE_OPTIONS: ${NODE_ARGS.join(' ')}\n`);
    expect(api).toContain(`MALLOC_ARENA_MAX: '${ENV.MALLOC_ARENA_MAX}'\n`);
  });

  it('the benchmarks start the api with them', () => {
    const processes = read('bench/lib/processes.mjs');
    expect(processes).toContain(`export const API_NODE_ARGS = ${JSON.stringify(NODE_ARGS).replace(/"/g, "'").replace(/,/g, ', ')};`);
    expect(processes).toContain(`export const API_PROCESS_ENV = { MALLOC_ARENA_MAX: '${ENV.MALLOC_ARENA_MAX}' };`);
  });
});
