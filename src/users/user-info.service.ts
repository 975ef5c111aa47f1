import { Injectable, NotFoundException } from '@nestjs/common';
import { CreditBalanceJson } from '../credits/credit-json';
import { CreditQueriesService } from '../credits/credit-queries.service';
import { PrismaService } from '../prisma/prisma.service';
import { CurrencySettings, SettingsService } from '../settings/settings.service';

/** `user` of GET /user/info. */
export interface UserProfileJson {
  did: string;
  fullName: string;
  email: string;
  avatar: string | null;
}

/**
 * GET /user/info (docs/api/credits.md). With credit billing on: every field; off: `creditBalance`
 * and `paymentLink` null and no `currency`.
 */
export interface UserInfoJson {
  user: UserProfileJson;
  creditBalance: CreditBalanceJson | null;
  paymentLink: string | null;
  currency?: CurrencySettings;
  enableCredit: boolean;
  profileLink: string | null;
}

/** Assembles the user info from the user row, the ledger and the settings. */
@Injectable()
export class UserInfoService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly credits: CreditQueriesService,
    private readonly settings: SettingsService,
  ) {}

  /** @throws 404 user_not_found when the caller's user no longer exists */
  async info(userId: string): Promise<UserInfoJson> {
    const [user, settings] = await Promise.all([
      this.prisma.user.findUnique({ where: { id: userId }, select: { did: true, fullName: true, email: true, avatar: true } }),
      this.settings.billing(),
    ]);
    if (!user) throw new NotFoundException({ code: 'user_not_found', message: 'User not found' });
    const profile: UserProfileJson = { did: user.did, fullName: user.fullName, email: user.email, avatar: user.avatar };
    if (!settings.creditBillingEnabled) {
      return { user: profile, creditBalance: null, paymentLink: null, enableCredit: false, profileLink: settings.profileLink };
    }
    return {
      user: profile,
      creditBalance: await this.credits.balance(userId),
      paymentLink: settings.paymentLink,
      currency: settings.currency,
      enableCredit: true,
      profileLink: settings.profileLink,
    };
  }
}
