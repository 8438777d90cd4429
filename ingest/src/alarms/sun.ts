import SunCalc from 'suncalc';

/** Sun elevation above the horizon in degrees (suncalc): tells daylight from night for street lighting. */
export function sunElevationDeg(epochMs: number, latDeg: number, lonDeg: number): number {
  return (SunCalc.getPosition(new Date(epochMs), latDeg, lonDeg).altitude * 180) / Math.PI;
}
