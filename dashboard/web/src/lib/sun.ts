/**
 * Sunrise and sunset (the street lights' astronomical clock) by the standard sunrise equation, accurate
 * to a minute or two, which is what a switching schedule needs. `dayMs` is any instant on the wanted day.
 */
const RAD = Math.PI / 180;
const J2000 = 2451545.0;
const toJulian = (ms: number) => ms / 86_400_000 + 2440587.5;
const fromJulian = (j: number) => (j - 2440587.5) * 86_400_000;

export function sunTimes(dayMs: number, lat: number, lon: number): { sunrise: number; sunset: number } | null {
  const n = Math.round(toJulian(dayMs) - J2000 + 0.0008);
  const jStar = n - lon / 360;
  const m = (357.5291 + 0.98560028 * jStar) % 360;
  const c = 1.9148 * Math.sin(m * RAD) + 0.02 * Math.sin(2 * m * RAD) + 0.0003 * Math.sin(3 * m * RAD);
  const lambda = (m + c + 180 + 102.9372) % 360;
  const transit = J2000 + jStar + 0.0053 * Math.sin(m * RAD) - 0.0069 * Math.sin(2 * lambda * RAD);
  const sinDecl = Math.sin(lambda * RAD) * Math.sin(23.4397 * RAD);
  const cosDecl = Math.cos(Math.asin(sinDecl));
  const cosW = (Math.sin(-0.833 * RAD) - Math.sin(lat * RAD) * sinDecl) / (Math.cos(lat * RAD) * cosDecl);
  if (cosW < -1 || cosW > 1) return null;
  const w = Math.acos(cosW) / RAD;
  return { sunrise: fromJulian(transit - w / 360), sunset: fromJulian(transit + w / 360) };
}
