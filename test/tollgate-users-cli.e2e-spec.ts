/**
 * The tollgate-users command line (docs/cli.md), run as a child process from the compiled tree
 * (TOLLGATE_DIST_DIR, see test/support/api-process.ts) against an api listening on a loopback port.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compiledEntry, REPO_ROOT } from './support/api-process';
import { Harness, startHarness } from './support/gateway-harness';
import { createAccount, tableCounts, TestAccount } from './support/user-import-accounts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('tollgate-users CLI', () => {
  let h: Harness;
  let admin: TestAccount;
  let work: string;
  let cli: string;

  const run = (args: string[], key: string = admin.key, baseUrl: string = h.baseUrl): Promise<Run> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        [cli, ...args, '--base-url', baseUrl, '--out-dir', work],
        { cwd: work, env: { ...process.env, TOLLGATE_API_KEY: key, NODE_PATH: join(REPO_ROOT, 'node_modules') } },
        (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 99) : 0, stdout, stderr }),
      );
    });
  const csvFile = (name: string, text: string) => {
    const file = join(work, name);
    writeFileSync(file, text);
    return file;
  };

  beforeAll(async () => {
    cli = compiledEntry('src/cli/tollgate-users.js');
    work = mkdtempSync(join(tmpdir(), 'tollgate-users-cli-'));
    h = await startHarness('users_cli');
    admin = await createAccount(h.prisma.pool, 'cli-admin@example.com', 'admin', ['users:write', 'users:read']);
  });

  afterAll(async () => {
    await h?.close();
  });

  const addFile = () =>
    csvFile('add.csv', 'email,role,team_name,key_name\nann@example.com,internal_user,Red,dev\nben@example.com,,Red,\nbad-email,member,,\n');

  it('add --dry-run reports and changes nothing (exit 1: a row failed)', async () => {
    const before = await tableCounts(h.prisma.pool);
    const r = await run(['add', '--csv-file', addFile(), '--dry-run', '--debug']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('dry run');
    expect(r.stdout).toContain('2 created');
    expect(r.stderr).toContain('POST');
    expect(r.stderr).not.toContain(admin.key);
    const after = await tableCounts(h.prisma.pool);
    expect({ ...after, audit_logs: 0 }).toEqual({ ...before, audit_logs: 0 });
  });

  it('add writes user_reg_result.csv (with the new key) and user_reg_error.csv', async () => {
    const r = await run(['add', '--csv-file', addFile()]);
    expect(r.code).toBe(1);
    const result = readFileSync(join(work, 'user_reg_result.csv'), 'utf8');
    expect(result).toMatch(/ann@example\.com,member,Red,dev,created,[0-9a-f-]{36},tg-/);
    expect(readFileSync(join(work, 'user_reg_error.csv'), 'utf8')).toContain('bad-email,INVALID_EMAIL');
    const good = await run(['add', '--csv-file', csvFile('good.csv', 'email\ncid@example.com\n'), '--role', 'internal_user_viewer']);
    expect(good.code).toBe(0);
  });

  it('list --role prints a table of the users with that role', async () => {
    const r = await run(['list', '--role', 'internal_user_viewer']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^email\s+role\s+team_name\s+status\s+created_at/);
    expect(r.stdout).toContain('cid@example.com');
    expect(r.stdout).not.toContain('ann@example.com');
    expect(r.stdout).toContain('1 users');
  });

  it('sync makes the file the desired state and writes user_sync_result.csv', async () => {
    const r = await run(['sync', '--csv-file', csvFile('sync.csv', 'email,role,team_name\nann@example.com,member,Blue\n')]);
    expect(r.code).toBe(0);
    const result = readFileSync(join(work, 'user_sync_result.csv'), 'utf8');
    expect(result).toContain('ann@example.com,member,Blue,,updated');
    expect(result).toMatch(/ben@example\.com,member,Red,,deleted/);
    expect(result).toMatch(/cid@example\.com,member_viewer,,,deleted/);
  });

  it('delete removes the users and writes user_del_result.csv', async () => {
    const r = await run(['delete', '--csv-file', csvFile('del.csv', 'email\nann@example.com\n')]);
    expect(r.code).toBe(0);
    expect(readFileSync(join(work, 'user_del_result.csv'), 'utf8')).toContain('ann@example.com,member,,,deleted');
    const left = await h.prisma.pool.query(`SELECT 1 FROM users WHERE email = 'ann@example.com'`);
    expect(left.rowCount).toBe(0);
  });

  it('exit codes: 3 for a bad key, 2 for a usage error, 4 when nothing answers', async () => {
    const bad = await run(['list'], 'tg-not-a-real-key-000000000000000000000000000000');
    expect(bad.code).toBe(3);
    expect((await run(['frobnicate'])).code).toBe(2);
    expect((await run(['add'])).code).toBe(2);
    // port 9 (discard) has no listener on the loopback address
    const down = await run(['list'], admin.key, 'http://127.0.0.1:9');
    expect(down.code).toBe(4);
  });
});
