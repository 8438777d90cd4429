import { Counter, type Registry } from 'prom-client';

/** What the simulated devices did on the wire, so a demo operator can see the faults they injected take effect. */
export interface SimMetrics {
  requests: Counter<'device' | 'outcome'>;
}

/** Outcomes: ok, exception, silent (fault or reboot), corrupted (bad CRC / gateway 0x0B), unrouted (unknown unit). */
export type RequestOutcome = 'ok' | 'exception' | 'silent' | 'corrupted' | 'unrouted';

export function createSimMetrics(registry: Registry): SimMetrics {
  return {
    requests: new Counter({
      name: 'firmware_sim_requests_total',
      help: 'Modbus requests received by simulated devices, by outcome',
      labelNames: ['device', 'outcome'],
      registers: [registry],
    }),
  };
}

export function countRequest(metrics: SimMetrics | undefined, device: string, outcome: RequestOutcome): void {
  metrics?.requests.inc({ device, outcome });
}
