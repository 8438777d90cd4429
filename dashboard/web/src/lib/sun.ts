import SunCalc from 'suncalc';

/**
 * Sunrise and sunset (the street lights' astronomical clock) by suncalc; `dayMs` is any instant on the wanted
 * day. Null where the sun does not rise or set that day.
 */
export function sunTimes(dayMs: number, lat: number, lon: number): { sunrise: number; sunset: number } | null {
  const t = SunCalc.getTimes(new Date(dayMs), lat, lon);
  const sunrise = t.sunrise.getTime();
  const sunset = t.sunset.getTime();
  return Number.isFinite(sunrise) && Number.isFinite(sunset) ? { sunrise, sunset } : null;
}
