import { O200K_TOKEN_SPLIT_REGEX } from 'gpt-tokenizer/cjs/encodingParams/constants';

/**
 * Bounded token counting. gpt-tokenizer runs byte-pair merging on each piece its pre-tokenizer
 * regex cuts out of the text, and that merge is quadratic in the piece's length: a run of one
 * character (or a long word, a CJK sentence without punctuation, a base64 blob in lower case) is
 * one piece, so 40 KB of "a" takes seconds and 1 MB more than ten minutes. Here the text is cut
 * into chunks before the encoder sees it:
 *
 * - The cuts fall between pieces of o200k's own pre-tokenizer, where the pieces on either side
 *   come out the same whether the text is whole or cut: after a word before a space (found with
 *   a cheap pattern), else, in stretches without such places, after a piece found with o200k's
 *   pattern itself that does not end in a space or tab. So each chunk is pre-tokenized exactly as
 *   the same stretch of the whole text was, and the sum over chunks is the whole text's count.
 *   (Only if a whole chunk's worth of characters in a row offers no such place, which real text
 *   does not do, is a chunk cut after a space anyway, which can move a token.)
 * - A piece longer than `pieceChars` is cut into parts of at most `pieceChars` UTF-16 units
 *   (never between the two halves of a surrogate pair) and each part is counted on its own. Only
 *   such pieces may count differently from the whole text (a token can no longer span a cut),
 *   and then by a token or so per cut.
 *
 * Work is thus linear in the text's length: each encoder call gets at most `chunkChars` units
 * whose pieces are at most `pieceChars` long.
 *
 * This module does not load the encoder; the caller passes the function that counts a piece.
 */

/** Counts the tokens of a string handed to the encoder (a chunk or part of a long piece). */
export type PieceCounter = (text: string) => number;

export interface ChunkLimits {
  /** Most UTF-16 units handed to the encoder in one call (a run of whole pieces). */
  chunkChars: number;
  /** Longest piece counted whole; longer pieces are cut into parts of this many units. */
  pieceChars: number;
}

export const DEFAULT_CHUNK_LIMITS: Readonly<ChunkLimits> = Object.freeze({ chunkChars: 4096, pieceChars: 256 });

/** The divisor of the linear estimate used past the size limit: tokens = ceil(UTF-8 bytes / 4). */
export const ESTIMATE_BYTES_PER_TOKEN = 4;

/** ceil(UTF-8 bytes / 4): o200k averages about 4 bytes of English per token. */
export function estimateTextTokens(text: string): number {
  return text.length === 0 ? 0 : Math.ceil(Buffer.byteLength(text, 'utf8') / ESTIMATE_BYTES_PER_TOKEN);
}

/**
 * Tokens added by the ChatML framing of gpt-tokenizer's `encodeChat(…, 'gpt-4o')` around the
 * contents and names: `<|im_start|>` name `<|im_sep|>` content `<|im_end|>` per message, and
 * `<|im_start|>assistant<|im_sep|>` once at the end. (A spec checks these against the library.)
 */
export const CHAT_FRAMING = Object.freeze({ perMessage: 3, perPrompt: 3 });

const PIECE_SOURCE = O200K_TOKEN_SPLIT_REGEX.source;
const PIECE_FLAGS = O200K_TOKEN_SPLIT_REGEX.flags.includes('g') ? O200K_TOKEN_SPLIT_REGEX.flags : `${O200K_TOKEN_SPLIT_REGEX.flags}g`;

/**
 * A non-whitespace character followed by whitespace other than CR and LF: o200k's pre-tokenizer
 * always ends a piece between the two (no piece goes on from a letter, digit or punctuation into a
 * space or tab), and the cut leaves no whitespace at the end of the chunk before it (see below).
 * Cheap to find, and in prose and code there is one every word or so.
 */
const WORD_CUT_SOURCE = String.raw`\S[^\S\r\n]`;

/**
 * Calls `emit` with consecutive slices of `text` that together make up all of it: runs of whole
 * pre-tokenizer pieces of at most `chunkChars` units, and the parts of pieces longer than
 * `pieceChars`. Exported for the specs; `countTextBounded` is the usual entry.
 *
 * Two levels: the text is first cut where a word ends before a space (WORD_CUT_SOURCE). Stretches
 * between such cuts of at most `pieceChars` cannot hold a longer piece and are packed into chunks
 * as they are; longer stretches (a CJK sentence, a long word, lines without spaces) go through the
 * pre-tokenizer's own pattern (forEachPieceChunk).
 */
export function forEachChunk(text: string, emit: (chunk: string) => void, limits: ChunkLimits = DEFAULT_CHUNK_LIMITS): void {
  const { chunkChars, pieceChars } = checkLimits(limits);
  if (text.length === 0) return;
  if (text.length <= pieceChars) {
    emit(text);
    return;
  }
  let chunkStart = 0;
  let stretchStart = 0;
  const stretch = (end: number) => {
    if (end - stretchStart > pieceChars) {
      if (stretchStart > chunkStart) emit(text.slice(chunkStart, stretchStart));
      forEachPieceChunk(text, stretchStart, end, emit, chunkChars, pieceChars);
      chunkStart = end;
    } else if (end - chunkStart > chunkChars) {
      emit(text.slice(chunkStart, stretchStart));
      chunkStart = stretchStart;
    }
    stretchStart = end;
  };
  const wordCuts = new RegExp(WORD_CUT_SOURCE, 'g');
  for (let m = wordCuts.exec(text); m !== null; m = wordCuts.exec(text)) stretch(m.index + 1);
  stretch(text.length);
  if (text.length > chunkStart) emit(text.slice(chunkStart));
}

/**
 * Emits text[from, to) — both ends piece boundaries — as runs of whole pieces found with o200k's
 * own pattern, cut where possible only after a piece that does not end in a space or tab: the
 * pattern's `\s+(?!\S)` looks one character past a run of spaces, so a chunk ending in one can
 * pre-tokenize its tail differently (a run ending in a line break is taken by `\s*[\r\n]+`
 * first, which looks no further; the spec fuzzes this). Longer pieces than `pieceChars` are
 * emitted in parts.
 */
function forEachPieceChunk(
  text: string,
  from: number,
  to: number,
  emit: (chunk: string) => void,
  chunkChars: number,
  pieceChars: number,
): void {
  let chunkStart = from;
  let pieceStart = from;
  // The latest exact cut in the current chunk: a piece end not after a space or tab (-1: none).
  let safeCut = -1;
  const pieces = new RegExp(PIECE_SOURCE, PIECE_FLAGS);
  pieces.lastIndex = from;
  for (let m = pieces.exec(text); m !== null && pieceStart < to; m = pieces.exec(text)) {
    // The pattern matches every character, so pieces are contiguous; a gap (there is none with
    // o200k's pattern) would simply belong to the next piece.
    const pieceEnd = Math.min(m.index + m[0].length, to);
    if (pieceEnd - pieceStart > pieceChars) {
      if (pieceStart > chunkStart) emit(text.slice(chunkStart, pieceStart));
      emitParts(text, pieceStart, pieceEnd, pieceChars, emit);
      chunkStart = pieceEnd;
      safeCut = -1;
    } else if (pieceEnd - chunkStart > chunkChars) {
      // Cut just before this piece when that is exact, else at the latest exact cut if the rest
      // still fits, else (a chunk's worth of pieces ending in spaces) before this piece anyway.
      const cut = safeCut === pieceStart || safeCut <= chunkStart || pieceEnd - safeCut > chunkChars ? pieceStart : safeCut;
      emit(text.slice(chunkStart, cut));
      chunkStart = cut;
      safeCut = -1;
    }
    const last = text.charCodeAt(pieceEnd - 1);
    if (!isWhitespace(last) || last === 0x0a || last === 0x0d) safeCut = pieceEnd;
    pieceStart = pieceEnd;
  }
  if (to - pieceStart > pieceChars) {
    // Unreachable with o200k's pattern (it matches every character); kept so no input can hand
    // the encoder an unbounded tail.
    if (pieceStart > chunkStart) emit(text.slice(chunkStart, pieceStart));
    emitParts(text, pieceStart, to, pieceChars, emit);
  } else if (to > chunkStart) {
    emit(text.slice(chunkStart, to));
  }
}

/** Emits text[from, to) in parts of at most `size` units, never between a surrogate pair. */
function emitParts(text: string, from: number, to: number, size: number, emit: (part: string) => void): void {
  for (let at = from; at < to;) {
    let cut = Math.min(at + size, to);
    if (cut < to && isHighSurrogate(text.charCodeAt(cut - 1)) && isLowSurrogate(text.charCodeAt(cut))) cut -= 1;
    emit(text.slice(at, cut));
    at = cut;
  }
}

/** Tokens of `text`, counted chunk by chunk with `count` (linear time, see the module comment). */
export function countTextBounded(text: string, count: PieceCounter, limits: ChunkLimits = DEFAULT_CHUNK_LIMITS): number {
  let total = 0;
  forEachChunk(text, (chunk) => (total += count(chunk)), limits);
  return total;
}

function checkLimits(limits: ChunkLimits): ChunkLimits {
  const { chunkChars, pieceChars } = limits;
  if (!Number.isInteger(pieceChars) || pieceChars < 2) throw new RangeError('pieceChars must be an integer ≥ 2');
  if (!Number.isInteger(chunkChars) || chunkChars < pieceChars) throw new RangeError('chunkChars must be an integer ≥ pieceChars');
  return limits;
}

/** Whether a UTF-16 unit is whitespace as the regex class `\s` defines it. */
export function isWhitespace(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  if (code < 0xa0) return false;
  return (
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
