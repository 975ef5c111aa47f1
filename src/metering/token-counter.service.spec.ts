import { Test } from '@nestjs/testing';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MeteringModule } from './metering.module';
import { seedO200kRanks } from './token-count.worker';
import { countEmbeddingInputTokens, countPromptTokens, countTextTokens, ChatMessageLike } from './token-counter';
import {
  resolveTokenizerOptions,
  resolveWorkerEntry,
  TOKENIZER_DEFAULTS,
  TokenCounterService,
  TokenizerOptions,
} from './token-counter.service';

const ROOT = path.resolve(__dirname, '../..');
/** The compiled worker of a build (`npm test` builds first); its test is skipped without one. */
const DIST_WORKER = path.join(ROOT, 'dist/src/metering/token-count.worker.js');

/** Ordinary source text, repeated to `chars` (counting it takes a while but is cheap to check). */
function codeText(chars: number): string {
  const base = ['gateway/gateway.service.ts', 'metering/token-chunking.ts', 'metering/token-counter.ts']
    .map((f) => fs.readFileSync(path.join(ROOT, 'src', f), 'utf8'))
    .join('\n');
  let text = base;
  while (text.length < chars) text += '\n' + base;
  return text.slice(0, chars);
}

const PROMPT: ChatMessageLike[] = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', name: 'bob', content: codeText(20_000) },
  { role: 'assistant', content: [{ type: 'text', text: 'Seen it.' }] },
];

describe('TokenCounterService', () => {
  const services: TokenCounterService[] = [];
  const make = (options?: TokenizerOptions) => {
    const s = new TokenCounterService(options);
    services.push(s);
    return s;
  };
  afterAll(async () => {
    await Promise.all(services.map((s) => s.onModuleDestroy()));
  });

  it('runs the TypeScript worker through its source entry when there is no build next to it', () => {
    expect(resolveWorkerEntry(__dirname)).toEqual({ file: path.join(__dirname, 'token-count.worker.source.js'), kind: 'source' });
    expect(resolveWorkerEntry(os.tmpdir())).toBeNull();
    expect(resolveTokenizerOptions({}).workerFile).toBe(path.join(__dirname, 'token-count.worker.source.js'));
    expect(resolveTokenizerOptions({})).toMatchObject(TOKENIZER_DEFAULTS);
    expect(() => resolveTokenizerOptions({ threads: -1 })).toThrow(RangeError);
    expect(() => resolveTokenizerOptions({ maxBytes: 1.5 })).toThrow(RangeError);
  });

  it('counts on a worker thread exactly as the synchronous functions do', async () => {
    const service = make({ inlineBytes: 0 });
    const text = codeText(50_000);
    await expect(service.countText(text)).resolves.toBe(countTextTokens(text));
    await expect(service.countPrompt(PROMPT)).resolves.toBe(countPromptTokens(PROMPT));
    const input = [text.slice(0, 9000), 'short', [1, 2, 3], 42];
    await expect(service.countEmbeddingInput(input)).resolves.toBe(countEmbeddingInputTokens(input));
    await expect(service.countText('a'.repeat(1 << 20))).resolves.toBe((1 << 20) / 8);
    expect(service.stats).toEqual({ worker: 4, inline: 0, estimated: 0, fallback: 0 });
  });

  it('keeps the event loop turning while a large count runs on the worker, unlike a count on the main thread', async () => {
    const text = codeText(1_500_000);
    const expected = countTextTokens(text);
    const ticksDuring = async (service: TokenCounterService) => {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);
      try {
        await expect(service.countText(text)).resolves.toBe(expected);
        return ticks;
      } finally {
        clearInterval(timer);
      }
    };
    const pooled = make();
    await pooled.countText('x'.repeat(5000)); // the worker is up before the measured count
    expect(await ticksDuring(pooled)).toBeGreaterThanOrEqual(5);
    expect(pooled.stats.worker).toBe(2);
    const inline = make({ threads: 0 });
    expect(await ticksDuring(inline)).toBe(0);
    expect(inline.stats.inline).toBe(1);
  });

  it('counts small inputs inline once this thread has the tokenizer, and estimates past maxBytes', async () => {
    countTextTokens('load the tokenizer here');
    const service = make({ maxBytes: 100_000 });
    await expect(service.countText('Hello there, general Kenobi.')).resolves.toBe(countTextTokens('Hello there, general Kenobi.'));
    await expect(service.countPrompt([])).resolves.toBe(0);
    await expect(service.countText('')).resolves.toBe(0);
    await expect(service.countEmbeddingInput([[1, 2], 3])).resolves.toBe(3);
    const big = 'é'.repeat(60_000); // 120,000 UTF-8 bytes
    await expect(service.countText(big)).resolves.toBe(30_000);
    await expect(service.countPrompt([{ role: 'user', content: big }])).resolves.toBe(3 + 3 + 1 + 30_000);
    expect(service.stats).toEqual({ worker: 0, inline: 1, estimated: 2, fallback: 0 });
  });

  it('falls back to counting on the main thread when there is no worker file', async () => {
    const service = make({ inlineBytes: 0, workerFile: path.join(os.tmpdir(), 'no-such-token-worker.js') });
    const text = codeText(10_000);
    await expect(service.countText(text)).resolves.toBe(countTextTokens(text));
    await expect(service.countPrompt(PROMPT)).resolves.toBe(countPromptTokens(PROMPT));
    expect(service.stats).toEqual({ worker: 0, inline: 0, estimated: 0, fallback: 2 });
  });

  it('falls back to counting on the main thread when the worker fails', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'token-worker-'));
    const broken = path.join(dir, 'broken.worker.js');
    fs.writeFileSync(broken, "module.exports = () => { throw new Error('broken worker'); };\n");
    try {
      const service = make({ inlineBytes: 0, workerFile: broken });
      const text = codeText(10_000);
      await expect(service.countText(text)).resolves.toBe(countTextTokens(text));
      expect(service.stats).toEqual({ worker: 0, inline: 0, estimated: 0, fallback: 1 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('still counts after onModuleDestroy (on the main thread)', async () => {
    const service = make({ inlineBytes: 0 });
    await service.countText(codeText(5000));
    await service.onModuleDestroy();
    await expect(service.countText(codeText(5000))).resolves.toBe(countTextTokens(codeText(5000)));
    expect(service.stats).toEqual({ worker: 1, inline: 0, estimated: 0, fallback: 1 });
  });

  (fs.existsSync(DIST_WORKER) ? it : it.skip)('counts with the compiled worker of a build (dist/)', async () => {
    const service = make({ inlineBytes: 0, workerFile: DIST_WORKER });
    await expect(service.countPrompt(PROMPT)).resolves.toBe(countPromptTokens(PROMPT));
    await expect(service.countText('a'.repeat(1 << 20))).resolves.toBe((1 << 20) / 8);
    expect(service.stats.worker).toBe(2);
  });

  it("gives the worker o200k's rank table from gpt-tokenizer's .tiktoken file, entry for entry the library's own", () => {
    const cache: NodeJS.Dict<NodeJS.Module> = {};
    const file = require.resolve('gpt-tokenizer/cjs/bpeRanks/o200k_base');
    expect(seedO200kRanks(cache)).toBe(file);
    expect(Object.keys(cache)).toEqual([file]);
    expect(cache[file]).toMatchObject({ filename: file, loaded: true });
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module the seeded table stands in for
    const own = (require('gpt-tokenizer/cjs/bpeRanks/o200k_base') as { default: (string | number[])[] }).default;
    const seeded = (cache[file]!.exports as { default: (string | number[])[] }).default;
    expect(seeded).toHaveLength(own.length);
    expect(seeded.filter((entry) => Array.isArray(entry)).length).toBeGreaterThan(0); // bytes that are not UTF-8 stay bytes
    expect(seeded).toStrictEqual(own);
    expect(seedO200kRanks(cache)).toBeNull(); // already there
  });

  it('is provided by MeteringModule, with options, and shut down with the app', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [MeteringModule.register({ threads: 2, idleTimeoutMs: 1000 })] }).compile();
    const service = moduleRef.get(TokenCounterService);
    expect(service.options).toMatchObject({ threads: 2, idleTimeoutMs: 1000, maxBytes: TOKENIZER_DEFAULTS.maxBytes });
    await expect(service.countText(codeText(3000))).resolves.toBe(countTextTokens(codeText(3000)));
    await moduleRef.close();
    const plain = await Test.createTestingModule({ imports: [MeteringModule] }).compile();
    expect(plain.get(TokenCounterService).options).toMatchObject(TOKENIZER_DEFAULTS);
    await plain.close();
  });
});
