import { describe, expect, it } from 'vitest';
import { SeenSeqs } from '../src/consumer/seen-seqs';

describe('recently seen gateway sequence numbers', () => {
  it('flag a redelivered seq, per gateway, in or out of order', () => {
    const seen = new SeenSeqs(1024);
    for (let s = 0; s < 100; s++) expect(seen.check('gw-a', s)).toBe(false);
    expect(seen.check('gw-b', 5)).toBe(false);
    expect(seen.check('gw-a', 5)).toBe(true);
    expect(seen.check('gw-b', 5)).toBe(true);
    // Out of order: a gap filled later is new once, then seen.
    expect(seen.check('gw-a', 150)).toBe(false);
    expect(seen.check('gw-a', 120)).toBe(false);
    expect(seen.check('gw-a', 120)).toBe(true);
    expect(seen.check('gw-a', 149)).toBe(false);
    expect(seen.check('gw-a', 150)).toBe(true);
  });

  it('forget seqs once the window has moved past them, and reuse their slots for newer ones', () => {
    const seen = new SeenSeqs(1024);
    for (let s = 0; s < 1024; s++) seen.check('gw', s);
    // 1024 + 3 falls in the slot of 3: it is new, not mistaken for the 3 seen before.
    expect(seen.check('gw', 1027)).toBe(false);
    // The seqs skipped over (1024…1026) were cleared, not left flagged from 0…2.
    expect(seen.check('gw', 1025)).toBe(false);
    expect(seen.check('gw', 1025)).toBe(true);
    // Out of the window now: too old to tell, reported as new.
    expect(seen.check('gw', 2)).toBe(false);
    // Still in it.
    expect(seen.check('gw', 1000)).toBe(true);
  });

  it('follow a gateway that starts numbering again from 0', () => {
    const seen = new SeenSeqs(1024);
    for (let s = 1_000_000; s < 1_000_050; s++) seen.check('gw', s);
    expect(seen.check('gw', 0)).toBe(false);
    expect(seen.check('gw', 1)).toBe(false);
    expect(seen.check('gw', 0)).toBe(true);
    expect(seen.check('gw', 1)).toBe(true);
  });

  it('handle sequence numbers beyond 32 bits', () => {
    const seen = new SeenSeqs(1024);
    const base = 9_999_999_000;
    for (let s = base; s < base + 10; s++) expect(seen.check('gw', s)).toBe(false);
    expect(seen.check('gw', base + 3)).toBe(true);
    expect(seen.check('gw', base + 3 + 2 ** 32)).toBe(false);
    expect(seen.check('gw', base + 3 + 2 ** 32)).toBe(true);
  });
});
