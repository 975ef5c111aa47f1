import * as fs from 'node:fs';
import * as path from 'node:path';
import { countTokens, encodeChat } from 'gpt-tokenizer';
import { O200K_TOKEN_SPLIT_REGEX } from 'gpt-tokenizer/cjs/encodingParams/constants';
import {
  CHAT_FRAMING,
  ChunkLimits,
  countTextBounded,
  DEFAULT_CHUNK_LIMITS,
  estimateTextTokens,
  forEachChunk,
  isWhitespace,
} from './token-chunking';

const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };
const exact = (text: string) => countTokens(text, PLAIN_TEXT);
const ROOT = path.resolve(__dirname, '../..');

/** Every call the encoder gets, with the bounded count over `text`. */
function countSpied(text: string, limits: ChunkLimits = DEFAULT_CHUNK_LIMITS): { total: number; calls: string[] } {
  const calls: string[] = [];
  const total = countTextBounded(
    text,
    (piece) => {
      calls.push(piece);
      return exact(piece);
    },
    limits,
  );
  return { total, calls };
}

function longestPiece(text: string): number {
  let max = 0;
  for (const m of text.matchAll(O200K_TOKEN_SPLIT_REGEX)) max = Math.max(max, m[0].length);
  return max;
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SAMPLES: Record<string, string> = {
  english: fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'),
  code: ['gateway/gateway.service.ts', 'metering/token-counter.ts', 'metering/credits-formula.ts']
    .map((f) => fs.readFileSync(path.join(ROOT, 'src', f), 'utf8'))
    .join('\n'),
  chinese:
    '令牌计数器把文本切成小块，每一块交给编码器。普通文本的结果与整体计数完全相同；只有极长的连续片段才会被硬切分，' +
    '例如一兆字节的同一个字符。网关在上游没有报告用量时才需要自己计数，而这种情况很少见。\n\n第二段：价格按百万令牌计算，余额以积分显示。',
  japanese: 'トークン数は上流が報告しない場合にのみ数えます。日本語の文章には単語の間に空白がありません。長い文でも結果は同じです。',
  korean: '토큰 수는 업스트림이 사용량을 알려주지 않을 때만 셉니다. 한국어 문장은 띄어쓰기가 있습니다.',
  mixed:
    'Prices: $3.50 / 1M tokens (≈ €3.20).\tEmoji 🙂👍🏽 and accents: café, naïve, e\u0301.\r\n\r\n    indented   code = x + 1;\n' +
    "  it's, they'll, I'M\u00a0nbsp\u3000ideographic space, <|endoftext|> as text, 12345678901234, http://example.com/a/b?c=d\n\n\n",
};

describe('token chunking', () => {
  it.each(Object.entries(SAMPLES))('counts %s text exactly as gpt-tokenizer does on the whole text', (_name, text) => {
    const whole = exact(text);
    expect(countSpied(text).total).toBe(whole);
    // Many cuts (chunks of a few pieces): still exact as long as no piece is cut.
    const pieceChars = Math.max(2, longestPiece(text));
    expect(countSpied(text, { chunkChars: pieceChars + 16, pieceChars }).total).toBe(whole);
  });

  it('counts long ordinary texts exactly, chunk by chunk', () => {
    const text = Object.values(SAMPLES).join('\n\n').repeat(5);
    const { total, calls } = countSpied(text);
    expect(total).toBe(exact(text));
    expect(calls.length).toBeGreaterThan(5);
    expect(calls.join('')).toBe(text);
    for (const c of calls) expect(c.length).toBeLessThanOrEqual(DEFAULT_CHUNK_LIMITS.chunkChars);
  });

  it('cuts only where the pre-tokenizer would (random mixes of whitespace, letters, digits, marks, CJK, emoji)', () => {
    const mixed = [
      ' ',
      '  ',
      '\n',
      '\r\n',
      '\t',
      ' \n',
      'a',
      'Z',
      'The',
      "'s",
      "'LL",
      'é',
      'e\u0301',
      '\u0301',
      '1',
      '456',
      '.',
      ',',
      '//',
      '-',
      '(',
      '}',
      '"',
      "'",
      '中',
      '日本',
      '한',
      '🙂',
      '👍🏽',
      '\u00a0',
      '\u3000',
      '。',
      '，',
      'ß',
      'İ',
      'ǅ',
      '\u200b',
    ];
    const spacey = [
      ' ',
      '  ',
      '\n',
      '\r\n',
      '\t',
      ' \n',
      '\n ',
      '\r',
      '\u3000',
      '\u00a0',
      '}',
      '{',
      '.',
      ';',
      'a',
      '1',
      '中',
      '\u0301',
      "'s",
    ];
    const next = rng(42);
    let exactRuns = 0;
    for (const atoms of [mixed, spacey]) {
      for (let i = 0; i < 300; i++) {
        let text = '';
        const n = 1 + Math.floor(next() * 150);
        for (let k = 0; k < n; k++) text += atoms[Math.floor(next() * atoms.length)];
        const pieceChars = Math.max(2, longestPiece(text));
        for (const chunkChars of [pieceChars + 2, pieceChars * 2, pieceChars * 3 + 8]) {
          const { total, calls } = countSpied(text, { chunkChars, pieceChars });
          expect(calls.join('')).toBe(text);
          // A chunk may end in a space or tab only when a whole chunk's worth of pieces offered no
          // better cut (tiny limits here; ~4,000 characters of such pieces with the defaults).
          const fallbackCuts = calls.slice(0, -1).filter((c) => /[^\S\r\n]$/.test(c)).length;
          if (fallbackCuts === 0) {
            exactRuns++;
            if (total !== exact(text)) throw new Error(`mismatch for ${JSON.stringify(text)} at ${chunkChars}/${pieceChars}`);
          } else expect(Math.abs(total - exact(text))).toBeLessThanOrEqual(fallbackCuts);
        }
      }
    }
    expect(exactRuns).toBeGreaterThan(1500);
  });

  it('counts 1 MB of one character in linear work: the encoder never gets more than pieceChars of it at once', () => {
    const text = 'a'.repeat(1 << 20);
    const { total, calls } = countSpied(text);
    // o200k has a token for "aaaaaaaa": the whole text is 2^20 / 8 of them, cut or not.
    expect(total).toBe((1 << 20) / 8);
    expect(calls.length).toBe((1 << 20) / DEFAULT_CHUNK_LIMITS.pieceChars);
    expect(Math.max(...calls.map((c) => c.length))).toBe(DEFAULT_CHUNK_LIMITS.pieceChars);
    expect(calls.join('')).toBe(text);
  });

  it('matches the exact count of a long run where the exact count is still cheap', () => {
    for (const text of ['a'.repeat(8192), ' '.repeat(5000), '='.repeat(3000) + ' x', 'x' + '\n'.repeat(3000)]) {
      expect(countSpied(text).total).toBe(exact(text));
    }
  });

  it('cuts long pieces of random letters into bounded parts, a token or so off per cut', () => {
    const next = rng(7);
    let text = '';
    for (let i = 0; i < 16384; i++) text += String.fromCharCode(97 + Math.floor(next() * 26));
    const { total, calls } = countSpied(text);
    const cuts = calls.length - 1;
    expect(cuts).toBe(16384 / DEFAULT_CHUNK_LIMITS.pieceChars - 1);
    for (const c of calls) expect(longestPiece(c)).toBeLessThanOrEqual(DEFAULT_CHUNK_LIMITS.pieceChars);
    expect(Math.abs(total - exact(text))).toBeLessThanOrEqual(cuts);
  });

  it('never cuts between the two halves of a surrogate pair', () => {
    const text = 'x' + '🙂'.repeat(3000); // one piece of 6000 UTF-16 units; 'x' makes the parts odd
    const { total, calls } = countSpied(text);
    for (const c of calls) {
      expect(c.length).toBeLessThanOrEqual(DEFAULT_CHUNK_LIMITS.pieceChars);
      expect(c.charCodeAt(0) >= 0xdc00 && c.charCodeAt(0) <= 0xdfff).toBe(false);
      expect(c.charCodeAt(c.length - 1) >= 0xd800 && c.charCodeAt(c.length - 1) <= 0xdbff).toBe(false);
    }
    expect(calls.join('')).toBe(text);
    expect(Math.abs(total - exact(text))).toBeLessThanOrEqual(calls.length);
  });

  it('emits nothing for empty text and the text itself when it is short', () => {
    const seen: string[] = [];
    forEachChunk('', (c) => seen.push(c));
    forEachChunk('hello world', (c) => seen.push(c));
    expect(seen).toEqual(['hello world']);
  });

  it('rejects limits that would not bound the work', () => {
    expect(() => countTextBounded('x', exact, { chunkChars: 8, pieceChars: 1 })).toThrow(RangeError);
    expect(() => countTextBounded('x', exact, { chunkChars: 8, pieceChars: 16 })).toThrow(RangeError);
  });

  it('knows whitespace as the regex class \\s does', () => {
    const mismatches: number[] = [];
    for (let code = 0; code < 0x10000; code++) if (isWhitespace(code) !== /\s/.test(String.fromCharCode(code))) mismatches.push(code);
    expect(mismatches).toEqual([]);
  });

  it('has the ChatML framing of encodeChat(…, "gpt-4o")', () => {
    expect(encodeChat([], 'gpt-4o')).toHaveLength(CHAT_FRAMING.perPrompt);
    expect(encodeChat([{ role: 'user', name: '', content: '' }], 'gpt-4o')).toHaveLength(CHAT_FRAMING.perPrompt + CHAT_FRAMING.perMessage);
  });

  it('estimates ceil(UTF-8 bytes / 4)', () => {
    expect(estimateTextTokens('')).toBe(0);
    expect(estimateTextTokens('abcde')).toBe(2);
    expect(estimateTextTokens('中文')).toBe(2); // 6 bytes
  });
});
