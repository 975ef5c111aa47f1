import { Inject, Injectable } from '@nestjs/common';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AppConfig, EncryptionKey } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';

export class SecretBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretBoxError';
  }
}

/**
 * Encrypts stored secrets (provider credentials) with AES-256-GCM.
 * Format: "<keyId>:<iv b64>:<tag b64>:<ciphertext b64>". The key id lets several keys coexist:
 * the first key in ENCRYPTION_KEYS encrypts, any listed key decrypts (rotation: add a new key
 * first, re-encrypt, then drop the old one).
 */
@Injectable()
export class SecretBoxService {
  private readonly current: EncryptionKey;
  private readonly byId: Map<string, Buffer>;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.current = config.encryptionKeys[0];
    this.byId = new Map(config.encryptionKeys.map((k) => [k.id, k.key]));
  }

  encrypt(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [this.current.id, iv.toString('base64'), cipher.getAuthTag().toString('base64'), ct.toString('base64')].join(':');
  }

  /** @throws SecretBoxError when the key id is unknown or the ciphertext was tampered with. */
  decrypt(sealed: string): string {
    const [keyId, iv, tag, ct] = sealed.split(':');
    const key = this.byId.get(keyId);
    if (!key || !iv || !tag || ct === undefined) throw new SecretBoxError(`cannot decrypt: unknown key id "${keyId}" or malformed value`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError(`cannot decrypt with key "${keyId}": authentication failed`);
    }
  }

  /** The key id a sealed value was encrypted with (for rotation reports). */
  keyIdOf(sealed: string): string {
    return sealed.split(':', 1)[0];
  }
}

/**
 * Masks a secret for display (docs/api/providers.md): "sk-••••key" (first 3 and last 3 characters).
 * Values shorter than 12 characters are shown as "••••" only.
 */
export function maskSecret(value: string): string {
  if (value.length < 12) return '••••';
  return `${value.slice(0, 3)}••••${value.slice(-3)}`;
}
