import { z } from 'zod';
import { DEVICE_KINDS, KIND_FIELDS, UNIT_CODES } from '@tamky/protocol';
import { registerCount } from '@tamky/modbus';

const fieldName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be lower_snake_case');
const address = z.number().int().min(0).max(65535);

/** Where a write to the field goes: by default the register it is read from. */
const writableSchema = z.object({
  address: address.optional(),
  min: z.number().optional(),
  max: z.number().optional(),
});

export const registerFieldSchema = z.object({
  name: fieldName,
  address,
  type: z.enum(['int16', 'uint16', 'int32', 'uint32', 'float32']).default('uint16'),
  wordOrder: z.enum(['big', 'little']).default('big'),
  scale: z.number().finite().default(1),
  offset: z.number().finite().default(0),
  unit: z.enum(UNIT_CODES),
  /** Raw value meaning "no measurement" (URM14 no echo = 65535): the field is left out of the reading. */
  noValue: z.number().optional(),
  /** false for control registers (working mode, interval setting) that are writable but not telemetry. */
  publish: z.boolean().default(true),
  writable: writableSchema.optional(),
  /** Status bits that raise a gateway event when they go on (`type`) and off (`type`_cleared), e.g. DALI lamp failure. */
  events: z.array(z.object({ bit: z.number().int().min(0).max(31), type: z.string().regex(/^[a-z][a-z0-9_]*$/) })).optional(),
});

export const blockSchema = z.object({
  table: z.enum(['holding', 'input', 'coil', 'discrete']),
  address,
  count: z.number().int().min(1).max(2000),
  fields: z.array(registerFieldSchema).min(1),
});

export const streamFieldSchema = z.object({
  name: fieldName,
  /** Name of the value the UART driver parsed out of the frame (SDS011: pm25, pm10; line driver: regex group). */
  source: z.string().min(1),
  scale: z.number().finite().default(1),
  offset: z.number().finite().default(0),
  unit: z.enum(UNIT_CODES),
  noValue: z.number().optional(),
});

export const profileSchema = z
  .object({
    kind: z.enum(DEVICE_KINDS),
    description: z.string().optional(),
    /** Largest run of unused registers read to merge two blocks into one request (gap filling). */
    maxGap: z.number().int().min(0).max(120).default(8),
    blocks: z.array(blockSchema).optional(),
    /**
     * Publish a reading only when this (usually non-published) field changes: devices that latch the
     * totals of the last closed interval (traffic counters) would otherwise repeat one interval's counts
     * on every poll and downstream sums would count them again.
     */
    publishOnChangeOf: fieldName.optional(),
    stream: z.object({ fields: z.array(streamFieldSchema).min(1) }).optional(),
  })
  .superRefine((p, ctx) => {
    if (!p.blocks === !p.stream) {
      ctx.addIssue({ code: 'custom', path: [], message: 'a profile has either "blocks" (Modbus) or "stream" (UART), exactly one' });
      return;
    }
    const spec = KIND_FIELDS[p.kind];
    const checkUnit = (name: string, unit: string, publish: boolean, path: (string | number)[]) => {
      if (!publish) return;
      const expected = spec[name];
      if (!expected)
        ctx.addIssue({
          code: 'custom',
          path,
          message: `field "${name}" is not a ${p.kind} field (known: ${Object.keys(spec).join(', ')})`,
        });
      else if (expected.unit !== unit)
        ctx.addIssue({ code: 'custom', path, message: `field "${name}" must be in ${expected.unit}, not ${unit}` });
    };
    p.blocks?.forEach((b, bi) => {
      const bits = b.table === 'coil' || b.table === 'discrete';
      if (!bits && b.count > 125)
        ctx.addIssue({
          code: 'custom',
          path: ['blocks', bi, 'count'],
          message: `a register read is at most 125 registers, not ${b.count}`,
        });
      b.fields.forEach((f, fi) => {
        const width = bits ? 1 : registerCount(f.type);
        if (f.address < b.address || f.address + width > b.address + b.count) {
          ctx.addIssue({
            code: 'custom',
            path: ['blocks', bi, 'fields', fi, 'address'],
            message: `field "${f.name}" (${f.address}, ${width} registers) lies outside block ${b.address}..${b.address + b.count - 1}`,
          });
        }
        if (f.writable && (b.table === 'input' || b.table === 'discrete')) {
          ctx.addIssue({
            code: 'custom',
            path: ['blocks', bi, 'fields', fi, 'writable'],
            message: `field "${f.name}" is in the read-only ${b.table} table; give writable.address of a holding register`,
          });
        }
        checkUnit(f.name, f.unit, f.publish, ['blocks', bi, 'fields', fi, 'unit']);
      });
    });
    if (p.publishOnChangeOf && !p.blocks?.some((b) => b.fields.some((f) => f.name === p.publishOnChangeOf))) {
      ctx.addIssue({ code: 'custom', path: ['publishOnChangeOf'], message: `no field "${p.publishOnChangeOf}" in the profile's blocks` });
    }
    p.stream?.fields.forEach((f, fi) => checkUnit(f.name, f.unit, true, ['stream', 'fields', fi, 'unit']));
  });

export type Profile = z.infer<typeof profileSchema>;
export type RegisterField = z.infer<typeof registerFieldSchema>;
export type Block = z.infer<typeof blockSchema>;
export type StreamField = z.infer<typeof streamFieldSchema>;
export type RegisterTable = Block['table'];
