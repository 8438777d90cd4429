#!/usr/bin/env node
// The gateway's launcher: `node launcher.mjs <install-root> --config /etc/tamky/gateway.yaml`.
// Deliberately tiny, plain JavaScript with no dependencies, and installed outside the versioned folders, so an
// update never replaces it. It runs <root>/current/dist/cli.js. While <root>/pending.json names the version
// `current` points to, that version is on trial: it must write <root>/healthy.json with its version (it does once
// it is connected to the broker) within pending.deadlineMs, or the launcher stops it, points `current` back to
// pending.previous, writes <root>/rollback.json with the reason (the old version reports it in its health) and
// starts the old version. Exit code 75 from the gateway means "a release is installed: start `current` again".
/* global process, console, setTimeout */
import { spawn } from 'node:child_process';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const RESTART_EXIT_CODE = 75;
const [root, ...gatewayArgs] = process.argv.slice(2);
if (!root) {
  console.error('usage: node launcher.mjs <install-root> [gateway arguments]');
  process.exit(2);
}
const file = (name) => join(root, name);
const say = (msg, extra = {}) => console.log(JSON.stringify({ level: 30, time: Date.now(), name: 'launcher', msg, ...extra }));
const readJson = (name) => {
  try {
    return JSON.parse(readFileSync(file(name), 'utf8'));
  } catch {
    return undefined;
  }
};
const writeDurably = (name, value) => {
  const fd = openSync(file(`${name}.tmp`), 'w');
  writeSync(fd, `${JSON.stringify(value)}\n`);
  fsyncSync(fd);
  closeSync(fd);
  renameSync(file(`${name}.tmp`), file(name));
};

let child;
let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'])
  process.on(signal, () => {
    stopping = true;
    child?.kill(signal);
  });

function run() {
  child = spawn(process.execPath, [...process.execArgv, join(root, 'current', 'dist', 'cli.js'), ...gatewayArgs], {
    stdio: 'inherit',
    env: { ...process.env, TAMKY_GATEWAY_ROOT: root },
  });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
}

/** Resolves 'healthy' when the version on trial writes healthy.json, 'late' at the deadline. */
function verdict(pending, exited) {
  return new Promise((resolve) => {
    const until = Date.now() + pending.deadlineMs;
    let settled = false;
    exited.then((code) => {
      settled = true;
      resolve({ exited: code });
    });
    const check = () => {
      if (settled) return;
      if (readJson('healthy.json')?.version === pending.version) return resolve('healthy');
      if (Date.now() >= until) return resolve('late');
      setTimeout(check, 200);
    };
    check();
  });
}

function rollBack(pending, reason) {
  const link = file('current.next');
  rmSync(link, { force: true });
  symlinkSync(pending.previous, link);
  renameSync(link, file('current'));
  const running = pending.previous.replace(/^tamky-gateway-/, '');
  writeDurably('rollback.json', { kind: 'software', rejected: pending.version, running, reason, ts: Date.now() });
  unlinkSync(file('pending.json'));
  say('rolled back', { rejected: pending.version, running, reason });
}

for (;;) {
  const pending = readJson('pending.json');
  const exited = run();
  if (pending) {
    const v = await verdict(pending, exited);
    if (v === 'healthy') {
      unlinkSync(file('pending.json'));
      say('new version healthy: kept', { version: pending.version });
    } else if (!stopping) {
      if (v === 'late') {
        child.kill('SIGKILL');
        await exited;
      }
      const reason =
        v === 'late'
          ? `version ${pending.version} did not report healthy within ${pending.deadlineMs} ms`
          : `version ${pending.version} exited with code ${v.exited} before reporting healthy`;
      rollBack(pending, reason);
      continue;
    }
  }
  const code = await exited;
  if (!stopping && code === RESTART_EXIT_CODE) continue;
  process.exit(code);
}
