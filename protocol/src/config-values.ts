import { z } from 'zod';

/**
 * A TCP port in a config file: a number, or the digits a `${NAME:-1883}` reference expands to (deployments
 * move ports through the environment, docker-compose.yml and deploy/config/*.yaml).
 */
export const portSchema = z.preprocess(
  (v) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v),
  z.number().int().min(0).max(65535),
);
