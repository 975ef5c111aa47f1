/**
 * One bad call record never takes its neighbours down: text is sanitised before it is written
 * (a NUL from a provider's error, an over-long field), a batch that PostgreSQL refuses is split
 * until the bad row stands alone, and that row is written with its text replaced — never dropped.
 */
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { Decimal } from '../../src/common/decimal';
import { testCallRecord } from '../support/call-records';
import { createDevProvider, createTenant, Harness, startHarness } from '../support/gateway-harness';
import { startStubUpstream, StubUpstream } from '../support/stub-upstream';

describe('call record fault isolation', () => {
  let h: Harness;
  let stub: StubUpstream;

  beforeAll(async () => {
    h = await startHarness('faultiso');
    await createDevProvider(h);
    // A provider whose errors echo the request, NUL included.
    stub = await startStubUpstream((_req, res, body) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: { message: `cannot parse \u0000 in ${body.slice(0, 50)}`, type: 'invalid_request_error', code: 'bad_input' },
        }),
      );
    });
    await createDevProvider(h, { name: 'echoer', baseUrl: stub.url });
  });

  afterAll(async () => {
    await stub?.close();
    await h?.close();
  });

  const record = testCallRecord;

  it('writes every record of a batch in which some rows are refused: the refused ones scrubbed', async () => {
    const tenant = await createTenant(h, { credits: '100' });
    // A row-level failure PostgreSQL raises for one row of a batch (as it does for a NUL byte).
    const pg = new Client({ connectionString: h.db.url });
    await pg.connect();
    await pg.query(`CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.error_message = 'poison' THEN RAISE EXCEPTION 'poisoned row' USING ERRCODE = '22000'; END IF; RETURN NEW; END $$`);
    await pg.query('CREATE TRIGGER refuse_poison BEFORE INSERT ON model_calls FOR EACH ROW EXECUTE FUNCTION refuse_poison()');
    try {
      const records = [
        record(tenant.userId),
        record(tenant.userId, { errorMessage: 'poison', status: 'failed', billable: false, credits: new Decimal(0) }),
        record(tenant.userId),
        record(tenant.userId, { apiKeyId: randomUUID() }), // a key deleted meanwhile: foreign key violation
        record(tenant.userId, {
          errorMessage: `nul \u0000 inside ${'x'.repeat(5000)}`,
          status: 'failed',
          billable: false,
          credits: new Decimal(0),
        }),
        record(tenant.userId),
      ];
      const outcomes = await Promise.all(records.map((r) => h.recorder.record(r)));
      expect(outcomes).toEqual(['written', 'scrubbed', 'written', 'scrubbed', 'written', 'written']);
      await h.recorder.drain();
      const rows = await h.prisma.modelCall.findMany({ where: { id: { in: records.map((r) => r.id) } } });
      expect(rows).toHaveLength(6);
      const byId = new Map(rows.map((r) => [r.id, r]));
      expect(byId.get(records[1].id)!.errorCode).toBe(null);
      expect(byId.get(records[1].id)!.errorMessage).toMatch(/replaced/);
      expect(byId.get(records[3].id)!.apiKeyId).toBe(null);
      expect(byId.get(records[4].id)!.errorMessage).toMatch(/^nul {2}inside x+$/);
      expect(byId.get(records[4].id)!.errorMessage!.length).toBe(1000);
      // The books: the four billed records debited once each.
      expect((await h.ledger.balance(tenant.userId)).toFixed()).toBe('98');
    } finally {
      await pg.query('DROP TRIGGER refuse_poison ON model_calls');
      await pg.end();
    }
  });

  it("records a provider error that echoes a NUL byte, and other users' concurrent calls", async () => {
    const victim = await createTenant(h, { credits: '100' });
    const others = await Promise.all(Array.from({ length: 10 }, () => createTenant(h, { credits: '100' })));
    const send = (key: string, model: string) =>
      fetch(`${h.baseUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
      });
    const [bad, ...good] = await Promise.all([
      send(victim.key, 'echoer/mock-model'),
      ...others.map((o) => send(o.key, 'devup/mock-model')),
    ]);
    expect(bad.status).toBe(400);
    expect(good.map((r) => r.status)).toEqual(others.map(() => 200));
    await h.recorder.drain();
    const badRow = await h.prisma.modelCall.findFirstOrThrow({ where: { userId: victim.userId } });
    expect(badRow.errorCode).toBe('bad_input');
    expect(badRow.errorMessage).not.toContain('\u0000');
    for (const o of others) {
      expect(await h.prisma.modelCall.count({ where: { userId: o.userId, status: 'success' } })).toBe(1);
      expect((await h.ledger.balance(o.userId)).lt(100)).toBe(true);
    }
  });
});
