import { countTokens, encodeChat } from 'gpt-tokenizer';

/** A chat message as OpenAI accepts it; content may be a string or an array of parts. */
export interface ChatMessageLike {
  role: string;
  content?: unknown;
  name?: string;
}

/**
 * Text of a message's content: a string as is; for an array of content parts, the `text` of
 * each text part joined by newlines (images and audio are not counted).
 */
export function messageText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => (part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string' ? (part as { text: string }).text : ''))
      .filter((s) => s.length > 0)
      .join('\n');
  }
  return '';
}

/**
 * Counts the prompt tokens of a chat request with the o200k_base tokenizer (gpt-tokenizer), using
 * the ChatML framing OpenAI bills for. Used where an upstream reports no `usage`, and by the
 * bundled dev upstream so both sides count the same way.
 * @returns tokens (integer ≥ 0)
 */
export function countPromptTokens(messages: readonly ChatMessageLike[]): number {
  if (!Array.isArray(messages) || messages.length === 0) return 0;
  const chat = messages.map((m) => ({
    role: (['system', 'user', 'assistant'].includes(m.role) ? m.role : 'user') as 'system' | 'user' | 'assistant',
    content: messageText(m.content),
    ...(typeof m.name === 'string' ? { name: m.name } : {}),
  }));
  return encodeChat(chat, 'gpt-4o').length;
}

/** Counts the tokens of plain text (a completion, an embedding input) with o200k_base. */
export function countTextTokens(text: string): number {
  return text.length === 0 ? 0 : countTokens(text);
}

/** Counts the tokens of an embeddings `input` (string, array of strings, or token arrays). */
export function countEmbeddingInputTokens(input: unknown): number {
  if (typeof input === 'string') return countTextTokens(input);
  if (Array.isArray(input)) {
    let total = 0;
    for (const item of input) {
      if (typeof item === 'string') total += countTextTokens(item);
      else if (typeof item === 'number') total += 1;
      else if (Array.isArray(item)) total += item.length;
    }
    return total;
  }
  return 0;
}
