import { loadConfig } from '../config/app-config';
import { maskSecret, SecretBoxError, SecretBoxService } from './secret-box.service';

const base = {
  DATABASE_URL: 'postgresql://localhost/x',
  REDIS_URL: 'redis://localhost',
  JWT_SECRET: 'a-jwt-secret-that-is-long-enough-0123456789',
};
const K1 = 'k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=';
const K2 = 'k2:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=';

describe('SecretBoxService', () => {
  it('round-trips, never stores the plaintext, and uses a fresh IV each time', () => {
    const box = new SecretBoxService(loadConfig({ ...base, ENCRYPTION_KEYS: K1 }));
    const a = box.encrypt('sk-live-secret-value');
    const b = box.encrypt('sk-live-secret-value');
    expect(a).not.toContain('sk-live');
    expect(a).not.toBe(b);
    expect(box.keyIdOf(a)).toBe('k1');
    expect(box.decrypt(a)).toBe('sk-live-secret-value');
  });

  it('rotates: a new current key still decrypts values sealed with the old one', () => {
    const old = new SecretBoxService(loadConfig({ ...base, ENCRYPTION_KEYS: K1 }));
    const sealed = old.encrypt('secret');
    const rotated = new SecretBoxService(loadConfig({ ...base, ENCRYPTION_KEYS: `${K2},${K1}` }));
    expect(rotated.decrypt(sealed)).toBe('secret');
    expect(rotated.keyIdOf(rotated.encrypt('x'))).toBe('k2');
  });

  it('refuses tampered ciphertext and unknown key ids', () => {
    const box = new SecretBoxService(loadConfig({ ...base, ENCRYPTION_KEYS: K1 }));
    const [id, iv, tag, ct] = box.encrypt('secret').split(':');
    const flipped = Buffer.from(ct, 'base64');
    flipped[0] ^= 1;
    expect(() => box.decrypt([id, iv, tag, flipped.toString('base64')].join(':'))).toThrow(SecretBoxError);
    expect(() => box.decrypt(['nope', iv, tag, ct].join(':'))).toThrow(SecretBoxError);
  });

  it('masks as the API shows credentials ("sk-••••key")', () => {
    expect(maskSecret('sk-abcdefghijklmnkey')).toBe('sk-••••key');
    expect(maskSecret('short')).toBe('••••');
  });
});
