/**
 * Key changes reach every api replica within a second (docs/api/keys.md "Propagation"): two api
 * apps on one database and one deployment prefix; a change made through replica A (or directly in
 * the database followed by invalidateUsers) is seen by replica B, whose key cache held the key.
 * Clients are the official `openai` SDK; each check polls until it holds or 1 s has passed.
 */
import OpenAI from 'openai';
import { createDevProvider, createTenant, Harness, startHarness, Tenant } from './support/gateway-harness';

const BOUND_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns true; false when BOUND_MS passed first. */
async function withinBound(fn: () => Promise<boolean>): Promise<boolean> {
  const started = Date.now();
  for (;;) {
    if (await fn()) return true;
    if (Date.now() - started >= BOUND_MS) return false;
    await sleep(25);
  }
}

describe('key changes propagate to every replica', () => {
  let a: Harness;
  let b: Harness;

  beforeAll(async () => {
    const prefix = `tollgate-test-keyprop-${Math.random().toString(36).slice(2, 8)}`;
    a = await startHarness('keyprop_a', { QUEUE_PREFIX: prefix });
    // replica B: the same database and the same deployment prefix (its own database stays unused)
    b = await startHarness('keyprop_b', { QUEUE_PREFIX: prefix }, { databaseUrlFor: () => a.db.url });
    await createDevProvider(a);
  });

  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const client = (h: Harness, secret: string) => new OpenAI({ apiKey: secret, baseURL: `${h.baseUrl}/v1`, maxRetries: 0 });

  /** The status a chat call on replica `h` answers: 200, or the error's status. */
  async function chatStatus(h: Harness, secret: string, model = 'mock-model'): Promise<number> {
    try {
      await client(h, secret).chat.completions.create({ model, max_tokens: 4, messages: [{ role: 'user', content: 'ping' }] });
      return 200;
    } catch (err) {
      if (err instanceof OpenAI.APIError && typeof err.status === 'number') return err.status;
      throw err;
    }
  }

  /** A tenant whose key replica B has just used (so B's key cache holds it). */
  async function cachedOnB(allowedModels: string[] = []): Promise<Tenant> {
    const t = await createTenant(a, { credits: '100', allowedModels });
    expect(await chatStatus(b, t.key)).toBe(200);
    return t;
  }

  it('a key revoked on replica A is refused on replica B within 1 s', async () => {
    const t = await cachedOnB();
    await a.keys.revoke(t.userId, t.keyId);
    expect(await withinBound(async () => (await chatStatus(b, t.key)) === 401)).toBe(true);
  });

  it('rotation on A: the old secret is refused on B within 1 s, the new one works there', async () => {
    const t = await cachedOnB();
    const rotated = await a.keys.rotate(t.userId, t.keyId);
    expect(await withinBound(async () => (await chatStatus(b, t.key)) === 401)).toBe(true);
    expect(await chatStatus(b, rotated.secret)).toBe(200);
  });

  it('an expiry set on A in the past: the key is refused on B within 1 s', async () => {
    const t = await cachedOnB();
    await a.keys.update(t.userId, t.keyId, { expiresAt: new Date(Date.now() - 1000).toISOString() });
    expect(await withinBound(async () => (await chatStatus(b, t.key)) === 401)).toBe(true);
  });

  it("a key's allowed models changed on A: the model is refused on B within 1 s", async () => {
    const t = await cachedOnB(['mock-model', 'mock-embed']);
    await a.keys.update(t.userId, t.keyId, { allowedModels: ['mock-embed'] });
    expect(await withinBound(async () => (await chatStatus(b, t.key)) === 403)).toBe(true);
  });

  it("a user's allowed models changed in the database + invalidateUsers on A: refused on B within 1 s", async () => {
    const t = await cachedOnB();
    await a.prisma.user.update({ where: { id: t.userId }, data: { allowedModels: ['mock-embed'] } });
    await a.keyCheck.invalidateUsers([t.userId]);
    expect(await withinBound(async () => (await chatStatus(b, t.key)) === 403)).toBe(true);
  });

  it("a team's allowed models changed + invalidateUsers of its members on A: refused on B within 1 s", async () => {
    const t = await cachedOnB(['all-team-models']);
    const team = await a.prisma.team.create({ data: { name: `prop-team-${Date.now()}`, allowedModels: [] } });
    await a.prisma.user.update({ where: { id: t.userId }, data: { teamId: team.id } });
    await a.keyCheck.invalidateUsers([t.userId]);
    expect(await chatStatus(b, t.key)).toBe(200); // a team without a list restricts nothing
    await a.prisma.team.update({ where: { id: team.id }, data: { allowedModels: ['mock-embed'] } });
    await a.keyCheck.invalidateUsers([t.userId]);
    expect(await withinBound(async () => (await chatStatus(b, t.key)) === 403)).toBe(true);
  });
});
