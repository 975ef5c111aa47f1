import { Decimal, exactRate, roundCredits } from '../common/decimal';

/**
 * Credits for a call (docs/api/gateway.md): prompt_tokens × inputRate + completion_tokens ×
 * outputRate, in decimal arithmetic, rounded half-up to 10 places.
 * @param inputRate credits per prompt token
 * @param outputRate credits per completion token
 * @returns credits (Decimal, scale ≤ 10)
 */
export function creditsFor(promptTokens: number, completionTokens: number, inputRate: Decimal, outputRate: Decimal): Decimal {
  return roundCredits(exactRate(inputRate).mul(promptTokens).add(exactRate(outputRate).mul(completionTokens)));
}
