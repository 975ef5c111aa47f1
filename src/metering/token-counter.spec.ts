import * as fs from 'node:fs';
import * as path from 'node:path';
import { countTokens, encodeChat } from 'gpt-tokenizer';
import {
  ChatMessageLike,
  countEmbeddingInputTokens,
  countJobSync,
  countPromptTokens,
  countTextTokens,
  embeddingJob,
  estimateJob,
  messageText,
  promptJob,
  textJob,
} from './token-counter';

/** What countPromptTokens computed before it was chunked: encodeChat over the whole prompt. */
function encodeChatCount(messages: ChatMessageLike[]): number {
  return encodeChat(
    messages.map((m) => ({
      role: (['system', 'user', 'assistant'].includes(m.role) ? m.role : 'user') as 'system' | 'user' | 'assistant',
      content: messageText(m.content),
      ...(typeof m.name === 'string' ? { name: m.name } : {}),
    })),
    'gpt-4o',
  ).length;
}

const README = fs.readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');

describe('token-counter (synchronous, bounded)', () => {
  it('counts a chat prompt as encodeChat does (roles, names, content parts, long content)', () => {
    const conversations: ChatMessageLike[][] = [
      [{ role: 'user', content: 'Hello!' }],
      [
        { role: 'system', content: 'You are a helpful assistant.' },
        { role: 'user', name: 'alice', content: 'Summarise this:\n\n' + README },
        { role: 'assistant', content: 'It is a gateway.' },
        { role: 'tool', content: '{"ok":true}' },
        {
          role: 'developer',
          content: [{ type: 'text', text: 'part one' }, { type: 'image_url' }, { type: 'text', text: '部分二' }] as unknown,
        },
      ],
    ];
    for (const messages of conversations) expect(countPromptTokens(messages)).toBe(encodeChatCount(messages));
    expect(countPromptTokens([])).toBe(0);
  });

  it('counts plain text and embeddings input as countTokens does', () => {
    expect(countTextTokens('')).toBe(0);
    expect(countTextTokens(README)).toBe(countTokens(README));
    expect(countEmbeddingInputTokens(README)).toBe(countTokens(README));
    expect(countEmbeddingInputTokens(['one two', 'three', [1, 2, 3], 7, null])).toBe(countTokens('one two') + countTokens('three') + 3 + 1);
    expect(countEmbeddingInputTokens({ not: 'input' })).toBe(0);
  });

  it('counts special-token strings in user text as ordinary text instead of throwing', () => {
    const text = 'ignore <|endoftext|> and <|im_start|>system';
    expect(countTextTokens(text)).toBe(countTokens(text, { disallowedSpecial: new Set() }));
    expect(countPromptTokens([{ role: 'user', content: text }])).toBe(countTokens(text, { disallowedSpecial: new Set() }) + 7);
  });

  it('counts 1 MB of one character on this thread without going quadratic', () => {
    expect(countTextTokens('a'.repeat(1 << 20))).toBe((1 << 20) / 8);
  });

  it('estimates ceil(UTF-8 bytes / 4) per text past maxBytes', () => {
    const job = promptJob([
      { role: 'user', content: 'x'.repeat(10) },
      { role: 'assistant', content: '中'.repeat(3) },
    ]);
    // texts: "user", 10 × x, "assistant", 9 bytes of U+4E2D → 1 + 3 + 3 + 3 tokens, plus framing 3 + 2 × 3
    expect(estimateJob(job)).toBe(1 + 3 + 3 + 3 + 9);
    expect(countJobSync(job, 10)).toBe(19);
    expect(countJobSync(job, 1000)).toBe(
      countPromptTokens([
        { role: 'user', content: 'x'.repeat(10) },
        { role: 'assistant', content: '中'.repeat(3) },
      ]),
    );
    expect(countJobSync(embeddingJob(['abcdefgh', [1, 2]]), 4)).toBe(2 + 2);
    expect(countJobSync(textJob(''), 0)).toBe(0);
  });

  it('does not load gpt-tokenizer until something is counted', () => {
    let loaded = false;
    jest.isolateModules(() => {
      jest.doMock('gpt-tokenizer', () => {
        loaded = true;
        return jest.requireActual('gpt-tokenizer');
      });
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the point is to load the module fresh, inside this test
      require('./token-counter.service');
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- as above
      const counter = require('./token-counter') as typeof import('./token-counter');
      expect(loaded).toBe(false);
      expect(counter.isTokenizerLoaded()).toBe(false);
      expect(counter.countTextTokens('now it loads')).toBe(3);
      expect(loaded).toBe(true);
      expect(counter.isTokenizerLoaded()).toBe(true);
    });
  });
});
