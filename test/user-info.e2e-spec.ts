/**
 * GET /user/info (docs/api/credits.md): profile, credit balance, payment link,
 * currency, enableCredit and profile link; settings from the `settings` table over configuration.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { Decimal } from '../src/common/decimal';
import { SETTING_KEYS, SettingsService } from '../src/settings/settings.service';
import { Harness, startHarness, testHold } from './support/gateway-harness';

const PASSWORD = 'user-info password 123';

async function login(h: Harness, email: string): Promise<string> {
  const res = await request(h.baseUrl).post('/auth/login').send({ login: email, password: PASSWORD }).expect(200);
  return res.body.accessToken as string;
}

async function newUser(h: Harness, opts: { fullName?: string; role?: 'admin' | 'member' } = {}) {
  const email = `ui-${randomUUID().slice(0, 8)}@example.com`;
  const user = await h.users.create({ email, fullName: opts.fullName ?? 'John Doe', password: PASSWORD, role: opts.role });
  return { user, token: await login(h, email) };
}

describe('GET /user/info (credit billing on)', () => {
  let h: Harness;
  let settings: SettingsService;

  beforeAll(async () => {
    h = await startHarness('user_info', {
      CREDIT_PAYMENT_LINK: 'https://pay.example.com/short/payment',
      PROFILE_LINK: 'https://example.com/short/profile',
      CREDIT_CURRENCY_NAME: 'Credit',
      CREDIT_CURRENCY_SYMBOL: 'CR',
      CREDIT_CURRENCY_DECIMAL: '2',
    });
    settings = h.app.get(SettingsService);
  });

  afterAll(async () => {
    await h?.close();
  });

  afterEach(async () => {
    for (const key of Object.values(SETTING_KEYS)) await settings.reset(key);
  });

  it('401 without credentials', async () => {
    const res = await request(h.baseUrl).get('/user/info').expect(401);
    expect(res.body.code).toBe('unauthorized');
  });

  it('answers the documented shape (docs/api/credits.md): profile, creditBalance, paymentLink, currency, enableCredit, profileLink', async () => {
    const { user, token } = await newUser(h);
    await h.prisma.user.update({ where: { id: user.id }, data: { avatar: 'https://example.com/avatar.png' } });
    await h.ledger.grant({ userId: user.id, amount: new Decimal('3000'), reason: 'a' });
    await h.ledger.grant({ userId: user.id, amount: new Decimal('2000'), reason: 'b', expiresAt: new Date(Date.now() + 86_400_000) });
    // a grant whose expiry passed no longer counts in total/grantCount (the job has not run yet)
    await h.ledger.grant({ userId: user.id, amount: new Decimal('7'), reason: 'old', expiresAt: new Date(Date.now() - 1000) });
    // a call in flight holds 100.25 credits
    const hold = await h.ledger.holdForCall(testHold(user.id, '100.25'));
    expect(hold.admitted).toBe(true);

    const res = await request(h.baseUrl).get('/user/info').set('authorization', `Bearer ${token}`).expect(200);
    expect(res.body).toEqual({
      user: { did: user.did, fullName: 'John Doe', email: user.email, avatar: 'https://example.com/avatar.png' },
      creditBalance: { balance: 5007, total: 5000, grantCount: 2, pendingCredit: 100.25 },
      paymentLink: 'https://pay.example.com/short/payment',
      currency: { name: 'Credit', symbol: 'CR', decimal: 2 },
      enableCredit: true,
      profileLink: 'https://example.com/short/profile',
    });
    expect(JSON.stringify(res.body)).not.toContain('password');
  });

  it('a new user has a zero balance and a null avatar', async () => {
    const { user, token } = await newUser(h, { fullName: 'Nobody' });
    const res = await request(h.baseUrl).get('/user/info').set('authorization', `Bearer ${token}`).expect(200);
    expect(res.body.user).toEqual({ did: user.did, fullName: 'Nobody', email: user.email, avatar: null });
    expect(res.body.creditBalance).toEqual({ balance: 0, total: 0, grantCount: 0, pendingCredit: 0 });
  });

  it('each user sees only their own profile and balance', async () => {
    const a = await newUser(h);
    const b = await newUser(h);
    await h.ledger.grant({ userId: a.user.id, amount: new Decimal('11.5'), reason: 'a only' });
    const resA = await request(h.baseUrl).get('/user/info').set('authorization', `Bearer ${a.token}`).expect(200);
    const resB = await request(h.baseUrl).get('/user/info').set('authorization', `Bearer ${b.token}`).expect(200);
    expect(resA.body.user.did).toBe(a.user.did);
    expect(resA.body.creditBalance.balance).toBe(11.5);
    expect(resB.body.user.did).toBe(b.user.did);
    expect(resB.body.creditBalance.balance).toBe(0);
  });

  it('settings rows override the configuration; removing them restores it', async () => {
    const { token } = await newUser(h);
    await settings.set(SETTING_KEYS.currency, { name: 'Token', symbol: 'TK', decimal: 4 });
    await settings.set(SETTING_KEYS.paymentLink, 'https://billing.example.org/buy');
    await settings.set(SETTING_KEYS.profileLink, null);
    const res = await request(h.baseUrl).get('/user/info').set('authorization', `Bearer ${token}`).expect(200);
    expect(res.body).toMatchObject({
      currency: { name: 'Token', symbol: 'TK', decimal: 4 },
      paymentLink: 'https://billing.example.org/buy',
      profileLink: null,
      enableCredit: true,
    });
    await settings.reset(SETTING_KEYS.currency);
    await settings.reset(SETTING_KEYS.profileLink);
    const back = await request(h.baseUrl).get('/user/info').set('authorization', `Bearer ${token}`).expect(200);
    expect(back.body.currency).toEqual({ name: 'Credit', symbol: 'CR', decimal: 2 });
    expect(back.body.profileLink).toBe('https://example.com/short/profile');
  });

  it('an invalid settings row is ignored (configuration applies), and set() refuses bad values', async () => {
    const { token } = await newUser(h);
    await h.prisma.setting.create({ data: { key: SETTING_KEYS.currency, value: { name: '', symbol: 1 } } });
    const res = await request(h.baseUrl).get('/user/info').set('authorization', `Bearer ${token}`).expect(200);
    expect(res.body.currency).toEqual({ name: 'Credit', symbol: 'CR', decimal: 2 });
    await expect(settings.set(SETTING_KEYS.paymentLink, 'javascript:alert(1)')).rejects.toThrow('invalid value');
    await expect(settings.set(SETTING_KEYS.creditBillingEnabled, 'yes')).rejects.toThrow('invalid value');
  });

  it('credit billing switched off in the settings table: creditBalance and paymentLink null, no currency', async () => {
    const { user, token } = await newUser(h);
    await h.ledger.grant({ userId: user.id, amount: new Decimal('5'), reason: 'x' });
    await settings.set(SETTING_KEYS.creditBillingEnabled, false);
    const res = await request(h.baseUrl).get('/user/info').set('authorization', `Bearer ${token}`).expect(200);
    expect(res.body).toEqual({
      user: { did: user.did, fullName: 'John Doe', email: user.email, avatar: null },
      creditBalance: null,
      paymentLink: null,
      enableCredit: false,
      profileLink: 'https://example.com/short/profile',
    });
  });

  it('API keys: a key with a management scope is accepted, a gateway-only key is refused', async () => {
    const { user } = await newUser(h);
    const scoped = await h.keys.create(user.id, { name: 'dash', scopes: ['credits:read'] });
    const ok = await request(h.baseUrl).get('/user/info').set('authorization', `Bearer ${scoped.secret}`).expect(200);
    expect(ok.body.user.did).toBe(user.did);
    expect(JSON.stringify(ok.body)).not.toContain(scoped.secret);
    const plain = await h.keys.create(user.id, { name: 'gateway only' });
    const res = await request(h.baseUrl).get('/user/info').set('authorization', `Bearer ${plain.secret}`).expect(403);
    expect(res.body.code).toBe('insufficient_scope');
  });

  it('401 when the token outlives its user (deleted users are logged out)', async () => {
    const { user, token } = await newUser(h);
    await h.prisma.user.delete({ where: { id: user.id } });
    const res = await request(h.baseUrl).get('/user/info').set('authorization', `Bearer ${token}`).expect(401);
    expect(res.body.code).toBe('unauthorized');
  });
});

describe('GET /user/info (credit billing off by configuration)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness('user_info_off', { CREDIT_BILLING_ENABLED: 'false', CREDIT_PAYMENT_LINK: 'https://pay.example.com/p' });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('with credit billing off, answers the documented shape (docs/api/credits.md): creditBalance and paymentLink null, enableCredit false', async () => {
    const { user, token } = await newUser(h);
    const res = await request(h.baseUrl).get('/user/info').set('authorization', `Bearer ${token}`).expect(200);
    expect(res.body).toEqual({
      user: { did: user.did, fullName: 'John Doe', email: user.email, avatar: null },
      creditBalance: null,
      paymentLink: null,
      enableCredit: false,
      profileLink: null,
    });
    const link = await request(h.baseUrl).get('/user/credit/payment-link').set('authorization', `Bearer ${token}`).expect(200);
    expect(link.body).toEqual({ paymentLink: null });
  });

  it('a settings row can switch credit billing on over the configuration', async () => {
    const { token } = await newUser(h);
    await h.app.get(SettingsService).set(SETTING_KEYS.creditBillingEnabled, true);
    const res = await request(h.baseUrl).get('/user/info').set('authorization', `Bearer ${token}`).expect(200);
    expect(res.body).toMatchObject({ enableCredit: true, paymentLink: 'https://pay.example.com/p', creditBalance: { balance: 0 } });
  });
});
