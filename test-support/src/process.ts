import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Fails with how to install the binary, so a missing peer is a clear failure, never a skip. */
export function requireBinary(command: string, debianPackage: string): string {
  const path = command.startsWith('/')
    ? existsSync(command)
      ? command
      : ''
    : spawnSync('sh', ['-c', `command -v ${command}`])
        .stdout.toString()
        .trim();
  if (!path)
    throw new Error(
      `${command} is not installed: run \`apt-get install -y ${debianPackage}\` (as root) or \`bash .ci/run\` which installs every test peer`,
    );
  return path;
}

export interface Peer {
  child: ChildProcess;
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>;
}

/** Spawns a peer process that dies with the test process; its output is kept for failure messages. */
export function spawnPeer(command: string, args: string[], options: SpawnOptions = {}): Peer {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  running.add(child);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      running.delete(child);
      resolve();
    }),
  );
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  return { child, output: () => output, stop: () => end('SIGTERM'), kill: () => end('SIGKILL') };
}
