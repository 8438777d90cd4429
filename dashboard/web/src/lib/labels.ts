/**
 * Greedy label placement for the schematic map: central wards sit close together, so each label takes the
 * first of below / above / right / left that does not overlap a ward circle or an already placed label.
 */
export interface LabelPlacement {
  x: number;
  y: number;
  anchor: 'start' | 'middle' | 'end';
}
interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}
const overlaps = (a: Box, b: Box) => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;

export function placeLabels(
  points: Array<{ id: string; x: number; y: number; text: string }>,
  fontSize: number,
  clearance: number,
): Map<string, LabelPlacement> {
  const width = (text: string) => text.length * fontSize * 0.56;
  const obstacles: Box[] = points.map((p) => ({ x0: p.x - clearance, y0: p.y - clearance, x1: p.x + clearance, y1: p.y + clearance }));
  const out = new Map<string, LabelPlacement>();
  for (const p of points) {
    const w = width(p.text);
    const candidates: Array<LabelPlacement & { box: Box }> = [
      {
        x: p.x,
        y: p.y + clearance + fontSize * 0.9,
        anchor: 'middle',
        box: { x0: p.x - w / 2, y0: p.y + clearance, x1: p.x + w / 2, y1: p.y + clearance + fontSize },
      },
      {
        x: p.x,
        y: p.y - clearance - fontSize * 0.2,
        anchor: 'middle',
        box: { x0: p.x - w / 2, y0: p.y - clearance - fontSize, x1: p.x + w / 2, y1: p.y - clearance },
      },
      {
        x: p.x + clearance + 0.4,
        y: p.y + fontSize * 0.35,
        anchor: 'start',
        box: { x0: p.x + clearance, y0: p.y - fontSize / 2, x1: p.x + clearance + w, y1: p.y + fontSize / 2 },
      },
      {
        x: p.x - clearance - 0.4,
        y: p.y + fontSize * 0.35,
        anchor: 'end',
        box: { x0: p.x - clearance - w, y0: p.y - fontSize / 2, x1: p.x - clearance, y1: p.y + fontSize / 2 },
      },
    ];
    const own = obstacles.find((o) => o.x0 === p.x - clearance && o.y0 === p.y - clearance);
    const free = candidates.find((c) => !obstacles.some((o) => o !== own && overlaps(c.box, o))) ?? candidates[0]!;
    obstacles.push(free.box);
    out.set(p.id, { x: free.x, y: free.y, anchor: free.anchor });
  }
  return out;
}
