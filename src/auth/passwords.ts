import { randomInt } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { DomainError } from '../common/domain-error';

/** Shortest and longest password accepted (characters). The upper bound keeps argon2 work bounded. */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;

/** Letters and digits without look-alikes (no 0/O, 1/l/I). */
const ALPHABET = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** A new random password: 16 characters of a 57-letter alphabet (about 93 bits). */
export function generatePassword(length = 16): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

/**
 * Checks a password chosen by a person or a client.
 * @throws DomainError 400 `INVALID_PASSWORD` when shorter than 8 or longer than 256 characters
 */
export function checkPasswordPolicy(password: string): void {
  if (typeof password !== 'string' || password.length < PASSWORD_MIN_LENGTH || password.length > PASSWORD_MAX_LENGTH) {
    throw DomainError.badRequest('INVALID_PASSWORD', `A password has ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`);
  }
}

/** argon2id hash (the library's defaults: m=19 MiB, t=2, p=1). */
export function hashPassword(password: string): Promise<string> {
  return hash(password);
}

/** True when `password` matches the stored argon2 hash (false for a malformed hash). */
export function verifyPassword(stored: string, password: string): Promise<boolean> {
  return verify(stored, password).catch(() => false);
}
