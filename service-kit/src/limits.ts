import { join } from 'node:path';
import { airLimitsSchema, congestionConfigSchema, LIMITS_FILES, noiseLimitsSchema, vnAqiTableSchema, type Limits } from '@tamky/protocol';
import { loadConfigFile } from './config';

/**
 * Loads every limits file from `dir` (config/limits). Every service reads limits through here and refuses to
 * start on an invalid file: errors (ConfigError) name the file, the field and the problem.
 */
export function loadLimits(dir: string): Limits {
  return {
    vnAqi: loadConfigFile(join(dir, LIMITS_FILES.vnAqi), vnAqiTableSchema),
    noise: loadConfigFile(join(dir, LIMITS_FILES.noise), noiseLimitsSchema),
    air: loadConfigFile(join(dir, LIMITS_FILES.air), airLimitsSchema),
    congestion: loadConfigFile(join(dir, LIMITS_FILES.congestion), congestionConfigSchema),
  };
}
