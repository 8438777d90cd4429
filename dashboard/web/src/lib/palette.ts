/** Distinguishable series colours that read on both light and dark backgrounds. */
export const PALETTE = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#9467bd',
  '#e377c2',
  '#8c564b',
  '#17becf',
  '#bcbd22',
  '#ff7f0e',
  '#7f7f7f',
  '#393b79',
  '#637939',
  '#843c39',
  '#7b4173',
  '#3182bd',
  '#e6550d',
];
export const seriesColor = (i: number) => PALETTE[i % PALETTE.length]!;
/** Dash patterns so lines differ by more than colour. */
export const DASHES = ['', '6 3', '2 2', '8 3 2 3'];
export const seriesDash = (i: number) => DASHES[Math.floor(i / PALETTE.length + i) % DASHES.length]!;
