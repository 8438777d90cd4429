import { fork } from 'node:child_process';

/**
 * A benchmark's publishers in a child process of their own, so that building and sending telemetry does not
 * compete with the ingest being measured for its event loop. The child (`file`) follows a three-step IPC
 * protocol: it receives the job, answers `{ ready: true }` once connected and prepared; receives `{ go: true }`,
 * publishes, and answers `{ published: n }` once the broker acknowledged everything (and `cpuMs`, its CPU time
 * from go to that answer, when it measures it).
 */
export async function startPublisherProcess(
  file: string,
  job: object,
): Promise<{ go(): Promise<number>; /** The child's CPU ms for the publishing, once go resolved. */ cpuMs(): number | undefined }> {
  const child = fork(file, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = () =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      child.once('message', (m) => resolve(m as Record<string, unknown>));
      child.once('exit', (code) => reject(new Error(`publisher process ${file} exited (${code})`)));
    });
  const ready = next();
  child.send(job);
  await ready;
  let cpuMs: number | undefined;
  return {
    async go() {
      const done = next();
      child.send({ go: true });
      const answer = await done;
      cpuMs = typeof answer.cpuMs === 'number' ? answer.cpuMs : undefined;
      return answer.published as number;
    },
    cpuMs: () => cpuMs,
  };
}
