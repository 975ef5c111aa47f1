import { Dispatcher } from 'undici';
import { CallContext, readUsage } from './call-context';
import { eventData, SseSplitter } from './sse-splitter';

export interface StreamOutcome {
  /** the provider's usage chunk, if one arrived */
  usage: { promptTokens: number; completionTokens: number } | null;
  /** text of every content delta relayed to the client (for counting when usage is missing) */
  completionText: string;
  /** the client went away before the stream ended */
  clientClosed: boolean;
  /** the provider's stream broke off (timeout, reset), if it did */
  upstreamError: string | null;
  /** bytes written to the client */
  bytesRelayed: number;
}

/**
 * Relays a provider's SSE stream to the client event by event, as each arrives (no buffering
 * beyond one event), while reading the usage chunk and the content deltas for metering.
 * The usage-only chunk (empty `choices`) is dropped unless the client asked for it.
 * Never throws: a broken upstream or a departed client ends the relay and is reported.
 */
export async function relayStream(ctx: CallContext, response: Dispatcher.ResponseData, clientWantsUsage: boolean, signal: AbortSignal): Promise<StreamOutcome> {
  const res = ctx.res;
  const outcome: StreamOutcome = { usage: null, completionText: '', clientClosed: false, upstreamError: null, bytesRelayed: 0 };
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-request-id': ctx.requestId,
  });
  res.flushHeaders();
  const splitter = new SseSplitter();
  const relay = (event: string): void => {
    if (signal.aborted || res.destroyed) return; // only what reached the client is metered
    const data = eventData(event);
    if (data !== null && data !== '[DONE]' && data.startsWith('{')) {
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
        if (usage && choices.length === 0 && !clientWantsUsage) return;
      }
    }
    const out = `${event}\n\n`;
    outcome.bytesRelayed += out.length;
    res.write(out);
  };
  try {
    for await (const chunk of response.body) {
      for (const event of splitter.push(chunk as Buffer)) relay(event);
      if (signal.aborted) break;
    }
    const rest = splitter.end();
    if (rest) relay(rest);
  } catch (err) {
    if (!signal.aborted) outcome.upstreamError = (err as Error).message;
  }
  if (signal.aborted || (res.destroyed && !res.writableFinished)) {
    outcome.clientClosed = true;
    response.body.destroy();
  }
  return outcome;
}
