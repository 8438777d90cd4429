import { fork } from 'node:child_process';

/**
 * A benchmark's publishers in a child process of their own, so that building and sending telemetry does not
 * compete with the ingest being measured for its event loop. The child (`file`) follows a three-step IPC
 * protocol: it receives the job, answers `{ ready: true }` once connected and prepared; receives `{ go: true }`,
 * publishes, and answers `{ published: n }` once the broker acknowledged everything.
 */
export async function startPublisherProcess(file: string, job: object): Promise<{ go(): Promise<number> }> {
  const child = fork(file, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = () =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      child.once('message', (m) => resolve(m as Record<string, unknown>));
      child.once('exit', (code) => reject(new Error(`publisher process ${file} exited (${code})`)));
    });
  const ready = next();
  child.send(job);
  await ready;
  return {
    async go() {
      const done = next();
      child.send({ go: true });
      return (await done).published as number;
    },
  };
}
