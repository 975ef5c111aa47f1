import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { randomUUID } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { DomainError } from '../common/domain-error';
import { PrismaService } from '../prisma/prisma.service';

/** Lifetime of a login token (seconds). */
export const ACCESS_TOKEN_TTL_SECONDS = 3600;

export interface LoginResult {
  accessToken: string;
  tokenType: 'Bearer';
  /** seconds */
  expiresIn: number;
  user: { did: string; email: string; fullName: string; role: string };
}

/** Password login (argon2id hashes) issuing JWTs (docs/api/auth.md). */
@Injectable()
export class AuthService {
  /** argon2id hash of a random string: verified against when the user does not exist. */
  private readonly dummyHash = hash(randomUUID());

  constructor(
    private readonly prisma: PrismaService,
    private readonly jwt: JwtService,
  ) {}

  /**
   * @param login email or username
   * @throws DomainError 401 `invalid_credentials` (same answer for unknown user and wrong
   *   password, and the hash is checked either way, so timing does not tell them apart)
   */
  async login(login: string, password: string): Promise<LoginResult> {
    const user = await this.prisma.user.findFirst({ where: login.includes('@') ? { email: login.toLowerCase() } : { username: login } });
    const stored = user?.passwordHash ?? (await this.dummyHash);
    const ok = await verify(stored, password).catch(() => false);
    if (!user || !user.passwordHash || !ok || user.status !== 'active') {
      throw DomainError.unauthorized('invalid_credentials', 'Wrong login or password');
    }
    const accessToken = await this.jwt.signAsync({ sub: user.id }, { expiresIn: ACCESS_TOKEN_TTL_SECONDS });
    return {
      accessToken,
      tokenType: 'Bearer',
      expiresIn: ACCESS_TOKEN_TTL_SECONDS,
      user: { did: user.did, email: user.email, fullName: user.fullName, role: user.role },
    };
  }
}
