import { MAX_JSON_DEPTH, scanJson } from './edge-input';

const scan = (text: string, max = 4) => scanJson(Buffer.from(text, 'utf8'), max);

/** What scanJson must answer, computed from the parsed value. */
function reference(text: string, max: number): 'nul' | 'depth' | null {
  const badText = (s: string) => s.includes('\u0000') || /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
  let nul = false;
  let deepest = 0;
  const walk = (v: unknown, depth: number) => {
    if (typeof v === 'string') nul ||= badText(v);
    else if (v && typeof v === 'object') {
      deepest = Math.max(deepest, depth + 1);
      for (const [k, x] of Object.entries(v)) {
        nul ||= badText(k);
        walk(x, depth + 1);
      }
    }
  };
  walk(JSON.parse(text), 0);
  return nul ? 'nul' : deepest > max ? 'depth' : null;
}

describe('scanJson', () => {
  it('finds \\u0000 escapes in values and keys, not escaped backslashes before "u0000"', () => {
    expect(scan('{"a":"x\\u0000"}')).toBe('nul');
    expect(scan('{"\\u0000":1}')).toBe('nul');
    expect(scan('["\\\\\\u0000"]')).toBe('nul'); // \\ then \u0000
    expect(scan('["\\\\u0000"]')).toBeNull(); // \\ then literal u0000
    expect(scan('["\\\\\\\\u0000"]')).toBeNull();
    expect(scan('["\\u0001", "\\u00000"]')).toBe('nul');
    expect(scan('["\\u0001"]')).toBeNull();
  });

  it('refuses unpaired surrogate escapes, accepts pairs (any case)', () => {
    expect(scan('["\\ud83d\\ude00"]')).toBeNull();
    expect(scan('["\\uD83D\\uDE00 and \\ud83d\\ude00"]')).toBeNull();
    expect(scan('["\\ud83d"]')).toBe('nul');
    expect(scan('["\\ude00"]')).toBe('nul');
    expect(scan('["\\ud83d\\u0041"]')).toBe('nul');
    expect(scan('["\\ud83d\\ud83d\\ude00"]')).toBe('nul');
    expect(scan('["\\ud7ff\\ue000"]')).toBeNull();
  });

  it('counts nesting outside strings only, up to the limit inclusive', () => {
    expect(scan('[[[[1]]]]')).toBeNull();
    expect(scan('[[[[[1]]]]]')).toBe('depth');
    expect(scan('{"a":{"b":{"c":{"d":{}}}}}')).toBe('depth');
    expect(scan('[[[["[[[[[{{{{"]]]]')).toBeNull();
    expect(scan('[[[["\\"[[[[[{{{{"]]]]')).toBeNull();
    expect(scan('[[[["\\\\",[1]]]]]')).toBe('depth'); // the string ends after the escaped backslash
    expect(scan('[1],[2],[3],[4],[5],[6]'.replace(/,/g, ''))).toBeNull(); // many brackets, shallow
    expect(scanJson(Buffer.from('['.repeat(10_000) + ']'.repeat(10_000)), MAX_JSON_DEPTH)).toBe('depth');
  });

  it('agrees with a reference on random JSON', () => {
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const pieces = ['a', '[', ']', '{', '}', '"', '\\', '\u0000', '\ud83d', '\ude00', 'é', 'u', '0'];
    const str = () => Array.from({ length: rnd(6) }, () => pieces[rnd(pieces.length)]).join('');
    const value = (d: number): unknown => {
      const k = rnd(d > 7 ? 3 : 5);
      if (k === 0) return str();
      if (k === 1) return rnd(100);
      if (k === 2) return null;
      if (k === 3) return Array.from({ length: rnd(3) }, () => value(d + 1));
      return Object.fromEntries(Array.from({ length: rnd(3) }, () => [str(), value(d + 1)]));
    };
    for (let i = 0; i < 3000; i++) {
      const text = JSON.stringify(value(0));
      expect([text, scan(text, 4)]).toEqual([text, reference(text, 4)]);
    }
  });
});
