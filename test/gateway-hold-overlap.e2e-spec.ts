/**
 * The credit hold running alongside the upstream request (docs/call-recording.md "Admission",
 * src/gateway/gateway.service.ts admitAndForward): for a user whose last hold showed ample
 * headroom, the call goes upstream while its hold is still being taken. A non-streaming answer
 * still waits for the hold; a stream is relayed as it arrives, and a hold refused late ends it
 * with the refusal instead of `[DONE]`. Either way nothing is recorded before the hold answers.
 *
 * To make the hold answer late, the test locks the user's account row in a transaction of its
 * own (the hold's UPDATE waits for it), then lets it go, or first takes every credit away.
 */
import net from 'node:net';
import { Client } from 'pg';
import { Decimal } from '../src/common/decimal';
import { creditsFor } from '../src/metering/credits-formula';
import { createDevProvider, createTenant, Harness, postChatCompletion, startHarness, Tenant } from './support/gateway-harness';

const RATE_IN = new Decimal('0.5');
const RATE_OUT = new Decimal('1.5');

describe('credit hold alongside the upstream request', () => {
  let h: Harness;

  beforeAll(async () => {
    // Reserves off: a busy user's non-streaming calls would otherwise skip the hold under test
    // (test/credit-reserves.e2e-spec.ts covers them).
    h = await startHarness('hold-overlap', {
      STREAM_STALL_TIMEOUT_MS: '120000',
      GATEWAY_MAX_CONCURRENT_PER_KEY: '1',
      CREDIT_RESERVE_CALLS: '0',
    });
    await createDevProvider(h, { inputRate: RATE_IN.toFixed(), outputRate: RATE_OUT.toFixed() });
  });

  afterAll(async () => {
    await h?.close();
  });

  const post = (t: Tenant, body: Record<string, unknown>) => postChatCompletion(h, t.key, { max_tokens: 50, ...body });

  /** A user with ample credits whose last hold (a call just made) leaves the next one overlapping. */
  async function warmTenant(credits = '100000'): Promise<Tenant> {
    const t = await createTenant(h, { credits });
    const warm = await post(t, { messages: [{ role: 'user', content: 'warm up' }] });
    expect(warm.status).toBe(200);
    await warm.text();
    await h.recorder.drain(); // its debit is in: the account row is settled before the test locks it
    return t;
  }

  /** Locks the user's account row until `release` (optionally after taking every credit away, books kept). */
  async function lockAccount(userId: string): Promise<{ release: (opts?: { drain: boolean }) => Promise<void> }> {
    const c = new Client({ connectionString: h.db.url });
    await c.connect();
    await c.query('BEGIN');
    await c.query('SELECT 1 FROM credit_accounts WHERE user_id = $1 FOR UPDATE', [userId]);
    return {
      release: async ({ drain } = { drain: false }) => {
        try {
          if (drain) {
            await c.query(
              `INSERT INTO credit_transactions (id, user_id, type, amount, balance_after, description)
               SELECT gen_random_uuid(), user_id, 'adjustment', -balance, 0, 'test: credits taken away' FROM credit_accounts WHERE user_id = $1`,
              [userId],
            );
            await c.query('UPDATE credit_accounts SET balance = 0 WHERE user_id = $1', [userId]);
          }
          await c.query('COMMIT');
        } finally {
          await c.end();
        }
      },
    };
  }

  /** Whether a hold statement is waiting for a lock (the call's hold has not answered yet). */
  async function holdIsWaiting(): Promise<boolean> {
    const r = await h.prisma.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%tollgate_credit_hold%'`,
    );
    return Number(r.rows[0].n) > 0;
  }

  async function waitUntil(cond: () => Promise<boolean>, what: string): Promise<void> {
    for (let i = 0; i < 200; i++) {
      if (await cond()) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`timed out waiting until ${what}`);
  }

  const calls = (userId: string) => h.prisma.modelCall.findMany({ where: { userId }, orderBy: { createdAt: 'asc' } });
  const holds = (userId: string) => h.prisma.creditHold.count({ where: { userId } });

  /** Reads SSE events from a response until `stop` says so or the stream ends; returns them and whether it ended. */
  async function readEvents(
    reader: ReadableStreamDefaultReader<Uint8Array>,
    state: { buf: string; events: string[] },
    stop: (events: string[]) => boolean,
  ): Promise<boolean> {
    const decoder = new TextDecoder();
    while (!stop(state.events)) {
      const { value, done } = await reader.read();
      if (done) return true;
      state.buf += decoder.decode(value, { stream: true });
      let i: number;
      while ((i = state.buf.indexOf('\n\n')) !== -1) {
        state.events.push(state.buf.slice(0, i).replace(/^data: /, ''));
        state.buf = state.buf.slice(i + 2);
      }
    }
    return false;
  }
  const contentEvents = (events: string[]) => events.filter((e) => e.startsWith('{') && JSON.parse(e).choices?.[0]?.delta?.content);

  it('a non-streaming answer waits for a late hold, then is recorded and billed', async () => {
    const t = await warmTenant();
    const lock = await lockAccount(t.userId);
    let answered = false;
    const pending = post(t, { messages: [{ role: 'user', content: 'hello #mock:words=3' }] }).then((r) => {
      answered = true;
      return r;
    });
    await waitUntil(holdIsWaiting, 'the hold waits for the account row');
    // The upstream has long answered (it answers at once), but not the hold: nothing for the client yet.
    await new Promise((r) => setTimeout(r, 300));
    expect(answered).toBe(false);
    expect(await calls(t.userId)).toHaveLength(1); // the warm-up only: nothing recorded before the hold
    await lock.release();
    const res = await pending;
    expect(res.status).toBe(200);
    const body = (await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
    await h.recorder.drain();
    const [, call] = await calls(t.userId);
    expect(call).toMatchObject({
      status: 'success',
      promptTokens: body.usage.prompt_tokens,
      completionTokens: body.usage.completion_tokens,
    });
    expect(call.credits.toFixed()).toBe(creditsFor(body.usage.prompt_tokens, body.usage.completion_tokens, RATE_IN, RATE_OUT).toFixed());
    expect(await holds(t.userId)).toBe(0);
  });

  it('a non-streaming call whose late hold is refused answers 402, is recorded failed and costs nothing', async () => {
    const t = await warmTenant();
    const lock = await lockAccount(t.userId);
    const pending = post(t, { messages: [{ role: 'user', content: 'hello #mock:words=3' }] });
    await waitUntil(holdIsWaiting, 'the hold waits for the account row');
    await lock.release({ drain: true });
    const res = await pending;
    expect(res.status).toBe(402);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('insufficient_credits');
    await h.recorder.drain();
    const [, call] = await calls(t.userId);
    expect(call).toMatchObject({ status: 'failed', errorCode: 'insufficient_credits' });
    expect(call.credits.toFixed()).toBe('0');
    expect((await h.ledger.balance(t.userId)).toFixed()).toBe('0');
    expect(await holds(t.userId)).toBe(0);
  });

  it('a stream is relayed before its hold answers; once admitted it ends with [DONE], recorded and billed', async () => {
    const t = await warmTenant();
    const lock = await lockAccount(t.userId);
    const res = await post(t, { stream: true, messages: [{ role: 'user', content: 'hi #mock:words=6 #mock:chunk-delay=30' }] });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const state = { buf: '', events: [] as string[] };
    await readEvents(reader, state, (e) => contentEvents(e).length >= 2);
    // Two content chunks reached the client while the hold still waited for the account row.
    expect(await holdIsWaiting()).toBe(true);
    expect(await calls(t.userId)).toHaveLength(1);
    await lock.release();
    expect(await readEvents(reader, state, () => false)).toBe(true);
    expect(state.events.at(-1)).toBe('[DONE]');
    await h.recorder.drain();
    const [, call] = await calls(t.userId);
    expect(call).toMatchObject({ status: 'success', stream: true, usageSource: 'upstream' });
    expect(call.completionTokens).toBeGreaterThan(0);
    expect(call.credits.toFixed()).toBe(creditsFor(call.promptTokens, call.completionTokens, RATE_IN, RATE_OUT).toFixed());
    expect((await h.ledger.balance(t.userId)).toFixed()).toBe(new Decimal(100000).sub(await spent(t.userId)).toFixed());
    expect(await holds(t.userId)).toBe(0);
  });

  it('a stream whose late hold is refused stops with the refusal instead of [DONE], recorded failed, not billed', async () => {
    const t = await warmTenant();
    const lock = await lockAccount(t.userId);
    const res = await post(t, { stream: true, messages: [{ role: 'user', content: 'hi #mock:words=40 #mock:chunk-delay=30' }] });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const state = { buf: '', events: [] as string[] };
    await readEvents(reader, state, (e) => contentEvents(e).length >= 1);
    expect(await holdIsWaiting()).toBe(true);
    await lock.release({ drain: true });
    expect(await readEvents(reader, state, () => false)).toBe(true);
    expect(state.events).not.toContain('[DONE]');
    const last = JSON.parse(state.events.at(-1)!) as { error: { code: string; type: string } };
    expect(last.error).toMatchObject({ code: 'insufficient_credits', type: 'insufficient_quota' });
    expect(contentEvents(state.events).length).toBeLessThan(40); // the relay stopped
    await h.recorder.drain();
    const [, call] = await calls(t.userId);
    expect(call).toMatchObject({ status: 'failed', errorCode: 'insufficient_credits', stream: true });
    expect(call.credits.toFixed()).toBe('0');
    expect((await h.ledger.balance(t.userId)).toFixed()).toBe('0');
    expect(await holds(t.userId)).toBe(0);
  });

  it('a stream whose client is not reading stops as soon as its late hold is refused, not after the stall timeout', async () => {
    const t = await warmTenant('100000000'); // 20 times this call's worst case (40,000 tokens) free: it overlaps
    const lock = await lockAccount(t.userId);
    // ~6 MB of events, more than the sockets between the api and this client hold; the client
    // (a raw socket, paused) reads nothing until the refusal is in, so the relay waits for it.
    const body = JSON.stringify({
      model: 'mock-model',
      stream: true,
      max_tokens: 40000,
      messages: [{ role: 'user', content: 'long #mock:words=40000' }],
    });
    const url = new URL(h.baseUrl);
    const socket = net.connect(Number(url.port), url.hostname);
    socket.pause();
    const received: Buffer[] = [];
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nhost: ${url.host}\r\nauthorization: Bearer ${t.key}\r\n` +
        `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    await waitUntil(holdIsWaiting, 'the hold waits for the account row');
    await new Promise((r) => setTimeout(r, 1000)); // the relay fills the buffers and waits for them to drain
    await lock.release({ drain: true });
    await h.recorder.drain();
    const [, call] = await calls(t.userId);
    expect(call).toMatchObject({ status: 'failed', errorCode: 'insufficient_credits' });
    // The relay has stopped although the client still reads nothing: the call's in-flight slot
    // (one per key here) is free again, so the key's next call is refused for credits (402), not
    // for a call in flight (429). (The stall timeout is 120 s here.)
    let next = 0;
    for (let i = 0; i < 40 && next !== 402; i++) {
      const r = await post(t, { messages: [{ role: 'user', content: 'next' }] });
      next = r.status;
      await r.text();
      if (next !== 402) await new Promise((r2) => setTimeout(r2, 50));
    }
    expect(next).toBe(402);
    // (The stream says `connection: keep-alive`: its end is the chunked encoding's last chunk.)
    const ended = new Promise<void>((resolve) =>
      socket.on('data', (d: Buffer) => {
        received.push(d);
        if (Buffer.concat(received.slice(-2)).toString('latin1').endsWith('\r\n0\r\n\r\n')) resolve();
      }),
    );
    socket.resume();
    await ended;
    socket.destroy();
    const text = Buffer.concat(received).toString('utf8');
    expect(text.startsWith('HTTP/1.1 200')).toBe(true);
    expect(text).not.toContain('data: [DONE]');
    expect(text).toMatch(/"code":"insufficient_credits"[\s\S]*\r\n0\r\n\r\n$/);
    expect(text).not.toContain('word40000');
  }, 30_000);

  /** Credits the user's recorded calls cost (the warm-up included). */
  async function spent(userId: string): Promise<Decimal> {
    return (await calls(userId)).reduce((sum, c) => sum.add(c.credits.toFixed()), new Decimal(0));
  }
});
