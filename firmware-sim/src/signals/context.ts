/** What every signal model needs: the seed that makes it repeatable and where/when the city is. */
export interface SignalContext {
  seed: number;
  lat: number;
  lon: number;
  timeZone: string;
}

/** Tam Kỳ, Quảng Nam. */
export const TAM_KY: Omit<SignalContext, 'seed'> = { lat: 15.5736, lon: 108.474, timeZone: 'Asia/Ho_Chi_Minh' };

/** Independent noise channels, so that e.g. PM and temperature do not move together by accident. */
export const CH = {
  rainDay: 1,
  rainHour: 2,
  temperature: 3,
  humidity: 4,
  pm: 5,
  pmRatio: 6,
  no2: 7,
  co: 8,
  o3: 9,
  so2: 10,
  noise: 11,
  noiseFast: 12,
  river: 13,
  traffic: 14,
  voltage: 15,
  power: 16,
} as const;
