import { z } from 'zod';

/** `GET /api/demo` (simulated city only): the faults an admin can inject and those injected so far. */
export const demoInjectionSchema = z.object({ scenario: z.string(), at: z.number(), by: z.string(), what: z.array(z.string()) });
export const demoControlSchema = z.object({ scenarios: z.array(z.string()), ready: z.boolean(), injected: z.array(demoInjectionSchema) });
export type DemoControl = z.infer<typeof demoControlSchema>;
