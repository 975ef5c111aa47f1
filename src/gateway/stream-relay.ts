import type { ServerResponse } from 'node:http';
import { Dispatcher } from 'undici';
import { openAiBody } from '../common/all-exceptions.filter';
import { DomainError } from '../common/domain-error';
import { CallAbort } from './call-abort';
import { CallContext, readUsage } from './call-context';
import { eventData, SseSplitter } from './sse-splitter';

export interface StreamOutcome {
  /** the provider's usage chunk, if one arrived */
  usage: { promptTokens: number; completionTokens: number } | null;
  /** text of every content delta relayed to the client (for counting when usage is missing) */
  completionText: string;
  /** the client went away (or was dropped for not reading) before the stream ended */
  clientClosed: boolean;
  /** the client was dropped because it read nothing for STREAM_STALL_TIMEOUT_MS */
  stalled: boolean;
  /** the provider's stream broke off (timeout, reset), if it did */
  upstreamError: string | null;
  /** the provider ended with `data: [DONE]` (withheld until the call is recorded) */
  sawDone: boolean;
  /** bytes written to the client */
  bytesRelayed: number;
  /** performance.now() when the provider's first chunk arrived (null: none did), for metrics */
  firstChunkAt: number | null;
}

/**
 * Relays a provider's SSE stream to the client event by event, as each arrives, while reading
 * the usage chunk and the content deltas for metering (docs/call-recording.md "Streams").
 * - The usage-only chunk (empty `choices`) is dropped unless the client asked for it.
 * - `data: [DONE]` is withheld: the caller sends it with `finishStream` once the call's record is
 *   durable, so a client never sees a complete stream that was not recorded.
 * - The response headers leave with the first events when those were already in when the relay
 *   began (Node's HTTP server writes the events of one chunk in one socket write).
 * - Backpressure: when the client's socket buffer is full the relay stops reading the provider
 *   until it drains, so at most one socket buffer plus one event is held per stream; a client
 *   that reads nothing for `stallTimeoutMs` is dropped (and billed for what it was sent).
 * Never throws: a broken upstream or a departed client ends the relay and is reported.
 */
export async function relayStream(
  ctx: CallContext,
  response: Dispatcher.ResponseData,
  clientWantsUsage: boolean,
  signal: CallAbort,
  stallTimeoutMs: number,
): Promise<StreamOutcome> {
  const res = ctx.res;
  const outcome: StreamOutcome = {
    usage: null,
    completionText: '',
    clientClosed: false,
    stalled: false,
    upstreamError: null,
    sawDone: false,
    bytesRelayed: 0,
    firstChunkAt: null,
  };
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-request-id': ctx.requestId,
  });
  // When the provider's first events are already here, the headers go out with them in one write
  // (one wake-up of the client less before its first token); otherwise at once, so a client
  // waiting for a slow first token still sees the answer begin.
  if (response.body.readableLength === 0) res.flushHeaders();
  const splitter = new SseSplitter();
  /** Writes one event; false when the client's buffer is full. */
  const relay = (event: string): boolean => {
    if (signal.aborted || res.destroyed) return true; // only what reached the client is metered
    const data = eventData(event);
    if (data === '[DONE]') {
      outcome.sawDone = true;
      return true;
    }
    if (data !== null && data.startsWith('{')) {
      type Chunk = { usage?: unknown; choices?: { delta?: { content?: unknown } }[] };
      let chunk: Chunk | null;
      try {
        chunk = JSON.parse(data) as Chunk;
      } catch {
        chunk = null;
      }
      if (chunk) {
        const usage = readUsage(chunk.usage);
        if (usage) outcome.usage = usage;
        const choices = Array.isArray(chunk.choices) ? chunk.choices : [];
        for (const c of choices) {
          const content = c?.delta?.content;
          if (typeof content === 'string') outcome.completionText += content;
        }
        if (usage && choices.length === 0 && !clientWantsUsage) return true;
      }
    }
    const out = `${event}\n\n`;
    outcome.bytesRelayed += Buffer.byteLength(out);
    return res.write(out);
  };
  try {
    for await (const chunk of response.body) {
      outcome.firstChunkAt ??= performance.now();
      let full = false;
      for (const event of splitter.push(chunk as Buffer)) if (!relay(event)) full = true;
      if (full && !(await drained(res, signal, stallTimeoutMs))) {
        outcome.stalled = !signal.aborted && !res.destroyed;
        break;
      }
      if (signal.aborted) break;
    }
    const rest = splitter.end();
    if (rest) relay(rest);
  } catch (err) {
    if (!signal.aborted) outcome.upstreamError = (err as Error).message;
  }
  if (outcome.stalled) res.destroy();
  if (signal.aborted || outcome.stalled || (res.destroyed && !res.writableFinished)) {
    outcome.clientClosed = true;
    response.body.destroy();
  }
  return outcome;
}

/**
 * Ends a relayed stream once the call's record is settled: `data: [DONE]` if the provider sent
 * it and the record is durable; an error event instead if the record failed (the client must
 * not take the answer as complete).
 */
export function finishStream(res: ServerResponse, outcome: StreamOutcome, recorded: boolean): void {
  if (outcome.clientClosed || res.destroyed) return;
  if (!recorded) {
    const error = {
      error: {
        message: 'The call could not be recorded; its answer is incomplete',
        type: 'server_error',
        param: null,
        code: 'record_failed',
      },
    };
    res.end(`data: ${JSON.stringify(error)}\n\n`);
    return;
  }
  res.end(outcome.sawDone ? 'data: [DONE]\n\n' : undefined);
}

/**
 * Ends a relayed stream whose call was refused after the relay began (its credit hold answered
 * late with a refusal, docs/call-recording.md "Admission"): an error event in OpenAI's shape
 * (`data: {"error": {message, type, param, code}}`) instead of `data: [DONE]`, so the client
 * does not take the answer as complete. A DomainError keeps its code (402 insufficient_credits,
 * 503 service_unavailable); anything else is a server_error.
 */
export function failStream(res: ServerResponse, err: unknown): void {
  if (res.destroyed || res.writableEnded) return;
  const body =
    err instanceof DomainError
      ? openAiBody(err)
      : { error: { message: 'The call could not be admitted', type: 'server_error', param: null, code: 'internal_error' } };
  res.end(`data: ${JSON.stringify(body)}\n\n`);
}

/**
 * Waits until the client's buffer drains: false if the client left, the relay was aborted (say
 * its hold was refused late) or the client stalled past the timeout.
 */
function drained(res: ServerResponse, signal: CallAbort, stallTimeoutMs: number): Promise<boolean> {
  if (res.destroyed || signal.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      res.off('drain', onDrain);
      res.off('close', onClose);
      signal.off('abort', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    const timer = setTimeout(() => done(false), stallTimeoutMs);
    res.on('drain', onDrain);
    res.on('close', onClose);
    signal.once('abort', onClose);
  });
}
