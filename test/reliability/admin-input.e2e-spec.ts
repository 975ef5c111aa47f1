/**
 * Admin and stats input that used to reach PostgreSQL or the decimal library unchecked: usage
 * stats ranges whose previous period is not representable, decimals with huge exponents or too
 * many digits, bulk rate updates whose results do not fit numeric(38,18). All answer 400 with the
 * field (or the offending rate) named, and write nothing.
 */
import request from 'supertest';
import { Client } from 'pg';
import { Harness, startHarness } from '../support/gateway-harness';

const PASSWORD = 'admin input password 0123456789';

describe('admin input', () => {
  let h: Harness;
  let admin: string;
  let user: string;
  let pg: Client;
  const as = (t: string) => ({ authorization: `Bearer ${t}` });
  const login = async (l: string) =>
    (await request(h.baseUrl).post('/auth/login').send({ login: l, password: PASSWORD }).expect(200)).body.accessToken as string;
  const fields = (body: { errors?: { field: string }[] }) => (body.errors ?? []).map((e) => e.field).sort();
  const rates = async () => (await pg.query('SELECT id, input_rate::text, output_rate::text FROM model_rates ORDER BY id')).rows;

  beforeAll(async () => {
    h = await startHarness('admin_input');
    await h.users.create({ email: 'admin@example.com', role: 'admin', password: PASSWORD });
    await h.users.create({ email: 'user@example.com', password: PASSWORD });
    admin = await login('admin@example.com');
    user = await login('user@example.com');
    pg = new Client({ connectionString: h.db.url });
    await pg.connect();
  });

  afterAll(async () => {
    await pg?.end();
    await h?.close();
  });

  describe('usage stats time range', () => {
    it('refuses a range whose previous period would start before year 1 (400 naming endTime), user and admin variants', async () => {
      for (const [path, token] of [
        ['/user/usage-stats', user],
        ['/user/admin/user-stats', admin],
      ] as const) {
        const res = await request(h.baseUrl).get(path).query({ startTime: 0, endTime: 253402300799 }).set(as(token)).expect(400);
        expect(res.body).toMatchObject({ statusCode: 400, code: 'validation_failed' });
        expect(fields(res.body)).toEqual(['endTime']);
        expect(res.body.message).toContain('endTime');
      }
    });

    it('answers the longest allowed range and everything inside the bounds', async () => {
      // previous period starts exactly at 0001-01-01T00:00:00Z
      const longest = await request(h.baseUrl)
        .get('/user/usage-stats')
        .query({ startTime: 0, endTime: 62135596800 })
        .set(as(user))
        .expect(200);
      expect(longest.body.summary.totalCalls).toBe(0);
      await request(h.baseUrl).get('/user/usage-stats').query({ startTime: 0, endTime: 62135596801 }).set(as(user)).expect(400);
      await request(h.baseUrl)
        .get('/user/admin/user-stats')
        .query({ startTime: 0, endTime: Math.floor(Date.now() / 1000) })
        .set(as(admin))
        .expect(200);
      await request(h.baseUrl).get('/user/usage-stats').query({ startTime: 253402300798, endTime: 253402300799 }).set(as(user)).expect(200);
    });
  });

  describe('decimal input', () => {
    let providerId: string;
    let rateId: string;

    beforeAll(async () => {
      providerId = (await h.providers.createProvider({ name: 'acme', displayName: 'Acme', baseUrl: 'http://127.0.0.1:9/v1' })).id;
      const r = await request(h.baseUrl)
        .post(`/ai-providers/${providerId}/model-rates`)
        .set(as(admin))
        .send({ model: 'm1', inputRate: 1, outputRate: 2, unitCosts: { input: '0.000001', output: '0.000002' } })
        .expect(201);
      rateId = r.body.id;
    });

    it('bulk-rate-update with creditPrice 1e-99999999999999 answers 400 at once (no runaway memory), nothing written', async () => {
      const before = await rates();
      const started = Date.now();
      const res = await request(h.baseUrl)
        .post('/ai-providers/bulk-rate-update')
        .set(as(admin))
        .send({ profitMargin: 10, creditPrice: '1e-99999999999999' })
        .expect(400);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(res.body.code).toBe('validation_failed');
      expect(fields(res.body)).toEqual(['creditPrice']);
      expect(await rates()).toEqual(before);
    });

    it('refuses rates with huge exponents or that round past numeric(38,18) (400 naming the field), nothing written', async () => {
      const before = await rates();
      const cases: [Record<string, unknown>, string][] = [
        [{ inputRate: '1e99999999999999999' }, 'inputRate'],
        [{ outputRate: '1e-99999999999999999' }, 'outputRate'],
        [{ inputRate: '99999999999999999999.9999999999999999999' }, 'inputRate'], // rounds to 21 integer digits
        [{ inputRate: '100000000000000000000' }, 'inputRate'],
        [{ inputRate: 1e300 }, 'inputRate'],
        [{ inputRate: '1'.repeat(101) }, 'inputRate'],
        [{ unitCosts: { input: '1e999999', output: 0 } }, 'unitCosts.input'],
      ];
      for (const [patch, field] of cases) {
        const res = await request(h.baseUrl)
          .post(`/ai-providers/${providerId}/model-rates`)
          .set(as(admin))
          .send({ model: 'm2', inputRate: 1, outputRate: 1, ...patch });
        expect([JSON.stringify(patch), res.status, res.body.code, fields(res.body)]).toEqual([
          JSON.stringify(patch),
          400,
          'validation_failed',
          [field],
        ]);
        const put = await request(h.baseUrl).put(`/ai-providers/${providerId}/model-rates/${rateId}`).set(as(admin)).send(patch);
        expect([JSON.stringify(patch), put.status, fields(put.body)]).toEqual([JSON.stringify(patch), 400, [field]]);
      }
      expect(await rates()).toEqual(before);
      // the largest value that fits, and one that rounds down into range, are stored
      const ok = await request(h.baseUrl)
        .put(`/ai-providers/${providerId}/model-rates/${rateId}`)
        .set(as(admin))
        .send({ inputRate: '99999999999999999999.999999999999999999', outputRate: '1.0000000000000000004' })
        .expect(200);
      expect(ok.body.id).toBe(rateId);
      expect((await rates()).find((r) => r.id === rateId)).toMatchObject({
        input_rate: '99999999999999999999.999999999999999999',
        output_rate: '1.000000000000000000',
      });
    });

    it('profitMargin accepts numeric strings; refuses non-numbers and margins at or below -100', async () => {
      const res = await request(h.baseUrl)
        .post('/ai-providers/bulk-rate-update')
        .set(as(admin))
        .send({ profitMargin: '10', creditPrice: '0.000001' })
        .expect(200);
      expect(res.body.parameters).toEqual({ profitMargin: 10, creditPrice: 0.000001 });
      expect((await rates()).find((r) => r.id === rateId)).toMatchObject({
        input_rate: '1.100000000000000000',
        output_rate: '2.200000000000000000',
      });
      for (const profitMargin of ['-100', -100, 'ten', '1e999999999', '', null, '1000001']) {
        const bad = await request(h.baseUrl)
          .post('/ai-providers/bulk-rate-update')
          .set(as(admin))
          .send({ profitMargin, creditPrice: 1 })
          .expect(400);
        expect(fields(bad.body)).toEqual(['profitMargin']);
      }
      await request(h.baseUrl)
        .post('/ai-providers/bulk-rate-update')
        .set(as(admin))
        .send({ profitMargin: '-99.5', creditPrice: 1 })
        .expect(200);
    });

    it('a computed rate that does not fit numeric(38,18) answers 400 rate_out_of_range naming the rate; nothing written', async () => {
      await request(h.baseUrl)
        .put(`/ai-providers/${providerId}/model-rates/${rateId}`)
        .set(as(admin))
        .send({ unitCosts: { input: '10000000000000000000', output: '0.5' } })
        .expect(200);
      const before = await rates();
      for (const creditPrice of ['0.01', '1e-90']) {
        const res = await request(h.baseUrl)
          .post('/ai-providers/bulk-rate-update')
          .set(as(admin))
          .send({ profitMargin: 0, creditPrice })
          .expect(400);
        expect(res.body).toMatchObject({ statusCode: 400, code: 'rate_out_of_range', rateId, field: 'inputRate' });
        expect(res.body.message).toContain('acme/m1');
      }
      expect(await rates()).toEqual(before);
      expect(Number((await pg.query("SELECT count(*) AS n FROM model_rate_history WHERE action = 'bulk-rate-update'")).rows[0].n)).toBe(2);
    });
  });
});
