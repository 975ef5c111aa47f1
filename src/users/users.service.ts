import { Injectable } from '@nestjs/common';
import { hash } from '@node-rs/argon2';
import { UserRole } from '../generated/prisma/enums';
import { PrismaService } from '../prisma/prisma.service';
import { generateDid } from './did';

/**
 * Users (docs/architecture.md "Modules"). Created by the demo seed and the tests; there is no
 * user management over HTTP yet. Every user gets a DID and a credit account at creation.
 */
@Injectable()
export class UsersService {
  constructor(private readonly prisma: PrismaService) {}

  /** Creates a user and their (empty) credit account. Passwords are hashed with argon2id. */
  async create(input: { email: string; fullName?: string; username?: string; role?: UserRole; password?: string }) {
    const passwordHash = input.password ? await hash(input.password) : null;
    return this.prisma.user.create({
      data: {
        did: generateDid(),
        email: input.email.toLowerCase(),
        username: input.username ?? null,
        fullName: input.fullName ?? '',
        role: input.role ?? 'member',
        passwordHash,
        creditAccount: { create: {} },
      },
    });
  }
}
