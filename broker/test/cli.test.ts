import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort, spawnPeer, tempDir, waitFor, waitForPort, type Peer } from '@tamky/test-support';
import { verifySecret } from '../src/index';
import { connectOk, gatewayOpts, hashForTest, tryConnect } from './helpers';

const repo = resolve(import.meta.dirname, '../..');
// node --import tsx (not the tsx wrapper) so that signals reach the broker process itself.
const node = (script: string, args: string[]): [string, string[]] => [process.execPath, ['--import', 'tsx', script, ...args]];
const cli = join(repo, 'broker/src/cli.ts');

function runCli(args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(...node(cli, args), { cwd: repo, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('exit', (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

const peers: Peer[] = [];
afterAll(() => Promise.all(peers.map((p) => p.stop())));

describe('broker CLI', () => {
  it('hash-secret prints a hash that verifies the secret read from stdin', async () => {
    const r = await runCli(['hash-secret'], 'field-secret\n');
    expect(r.code).toBe(0);
    const hash = r.stdout.trim();
    expect(hash).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(await verifySecret('field-secret', hash)).toBe(true);
  });

  it('rejects a bad config naming the file, the field and the problem', async () => {
    const file = join(tempDir('broker-cli'), 'broker.yaml');
    writeFileSync(
      file,
      'profile: staging\nlisteners: { mqtt: { port: "x" } }\ncredentials: { gateways: [ { id: "gw a", secretHash: "plain" } ] }\n',
    );
    const r = await runCli(['--config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}: profile:`);
    expect(r.stderr).toContain(`${file}: listeners.mqtt.port:`);
    expect(r.stderr).toContain(`${file}: credentials.gateways[0].id:`);
    expect(r.stderr).toContain(`${file}: credentials.gateways[0].secretHash:`);
  });

  it('runs from a YAML config with a credentials file, reloads credentials on SIGHUP or file change and stops cleanly on SIGTERM', async () => {
    const dir = tempDir('broker-cli');
    const port = await freePort();
    const credentials = join(dir, 'credentials.yaml');
    const writeCredentials = async (gateways: string[]) =>
      writeFileSync(
        credentials,
        [
          'gateways:',
          ...(await Promise.all(gateways.map(async (g) => `  - { id: ${g}, secretHash: "${await hashForTest(`${g}-secret`)}" }`))),
          'services: []',
        ].join('\n'),
      );
    await writeCredentials(['gw-old']);
    // Relative paths in the config are relative to the config file.
    writeFileSync(
      join(dir, 'broker.yaml'),
      `profile: production\nlisteners: { mqtt: { host: 127.0.0.1, port: ${port} } }\ncredentialsFile: credentials.yaml\n`,
    );
    const broker = spawnPeer(...node(cli, ['--config', join(dir, 'broker.yaml')]), {
      cwd: repo,
      env: { ...process.env, LOG_LEVEL: 'info' },
    });
    peers.push(broker);
    await waitForPort(port, 'broker CLI', 30_000);
    const url = `mqtt://127.0.0.1:${port}`;

    const old = await connectOk(url, gatewayOpts('gw-old', 'gw-old-secret'));
    expect(await tryConnect(url, gatewayOpts('gw-new', 'gw-new-secret'))).toEqual({ refused: 4 });

    // A broken edit is refused and the previous credentials stay in force.
    writeFileSync(credentials, 'gateways: [ { id: 1 } ]\n');
    broker.child.kill('SIGHUP');
    await waitFor(() => /"why":"SIGHUP".*credentials reload failed/.test(broker.output()), { what: 'SIGHUP reload failure in the log' });
    expect(old.connected).toBe(true);

    const oldGone = new Promise<void>((r) => old.once('close', () => r()));
    // No signal this time: the broker notices the file changed (npx tsx does not forward SIGHUP).
    await writeCredentials(['gw-new']);
    await oldGone; // removed from the credentials: disconnected
    const fresh = await connectOk(url, gatewayOpts('gw-new', 'gw-new-secret'));
    expect(await tryConnect(url, gatewayOpts('gw-old', 'gw-old-secret'))).toEqual({ refused: 4 });
    await fresh.endAsync();

    broker.child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) =>
      broker.child.exitCode !== null ? r(broker.child.exitCode) : broker.child.once('exit', (c) => r(c)),
    );
    expect(code).toBe(0);
    expect(broker.output()).toContain('broker stopped');
  });
});
