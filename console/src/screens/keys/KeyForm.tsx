import { useState } from 'react';
import { Button, Group, NumberInput, Stack, TagsInput, TextInput } from '@mantine/core';
import type { ApiKey, KeyInput } from '../../api/types';

/** Most integers the api takes for rpm/tpm limits (int32). */
const MAX_LIMIT = 2_147_483_647;

/** `YYYY-MM-DDTHH:mm` (a datetime-local value) of an ISO time, or ''. */
function toLocalInput(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/**
 * The fields of a key (docs/api/keys.md "Fields"): name, allowed models, expiry, rpm/tpm limits
 * and credit budget. `onSubmit` gets the body of POST /user/keys (create) or PATCH (edit: empty
 * fields are sent as null, which clears them).
 */
export function KeyForm({
  initial,
  submitLabel,
  busy,
  onSubmit,
  onCancel,
}: {
  initial?: ApiKey;
  submitLabel: string;
  busy: boolean;
  onSubmit: (input: KeyInput) => void;
  onCancel: () => void;
}) {
  const [name, setName] = useState(initial?.name ?? '');
  const [models, setModels] = useState<string[]>(initial?.allowedModels ?? []);
  const [expires, setExpires] = useState(toLocalInput(initial?.expiresAt));
  const [rpm, setRpm] = useState<number | string>(initial?.rpmLimit ?? '');
  const [tpm, setTpm] = useState<number | string>(initial?.tpmLimit ?? '');
  const [budget, setBudget] = useState<number | string>(initial?.creditBudget ?? '');
  const expiresInPast = expires !== '' && new Date(expires).getTime() <= Date.now();

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    const clearOrSkip = initial ? null : undefined;
    onSubmit({
      name: name.trim(),
      allowedModels: models,
      expiresAt: expires ? new Date(expires).toISOString() : clearOrSkip,
      rpmLimit: rpm === '' ? clearOrSkip : Number(rpm),
      tpmLimit: tpm === '' ? clearOrSkip : Number(tpm),
      creditBudget: budget === '' ? clearOrSkip : String(budget),
    });
  };

  return (
    <form onSubmit={submit} aria-label={submitLabel}>
      <Stack>
        <TextInput label="Name" required maxLength={128} value={name} onChange={(e) => setName(e.currentTarget.value)} data-autofocus />
        <TagsInput
          label="Allowed models"
          description='Empty: every model you may use. "model", "provider/model", "provider/*". Enter to add.'
          value={models}
          onChange={setModels}
          maxTags={256}
          clearable
        />
        <TextInput
          label="Expires"
          description="Empty: never"
          type="datetime-local"
          value={expires}
          onChange={(e) => setExpires(e.currentTarget.value)}
          error={expiresInPast ? 'Must be in the future' : undefined}
        />
        <Group grow align="flex-start">
          <NumberInput
            label="Requests per minute"
            min={1}
            max={MAX_LIMIT}
            allowDecimal={false}
            value={rpm}
            onChange={setRpm}
            placeholder="no limit"
          />
          <NumberInput
            label="Tokens per minute"
            min={1}
            max={MAX_LIMIT}
            allowDecimal={false}
            value={tpm}
            onChange={setTpm}
            placeholder="no limit"
          />
        </Group>
        <NumberInput
          label="Credit budget"
          description="Most credits the key may spend in total; empty: no budget"
          min={0}
          decimalScale={10}
          value={budget}
          onChange={setBudget}
          placeholder="no budget"
        />
        <Group justify="flex-end">
          <Button variant="default" onClick={onCancel}>
            Cancel
          </Button>
          <Button type="submit" loading={busy} disabled={!name.trim() || expiresInPast}>
            {submitLabel}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
