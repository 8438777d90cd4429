/**
 * The wall's alarm tone, synthesised once as a WAV in memory (no binary asset to ship or license): two
 * short high beeps and a pause, meant to be looped by an <audio> element.
 */
export function alarmToneUrl(): string {
  const rate = 8000;
  const seconds = 1.2;
  const samples = Math.round(rate * seconds);
  const buf = new ArrayBuffer(44 + samples);
  const v = new DataView(buf);
  const ascii = (at: number, s: string) => [...s].forEach((c, i) => v.setUint8(at + i, c.charCodeAt(0)));
  ascii(0, 'RIFF');
  v.setUint32(4, 36 + samples, true);
  ascii(8, 'WAVEfmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, 1, true); // mono
  v.setUint32(24, rate, true);
  v.setUint32(28, rate, true); // bytes per second at 8 bits mono
  v.setUint16(32, 1, true);
  v.setUint16(34, 8, true);
  ascii(36, 'data');
  v.setUint32(40, samples, true);
  for (let i = 0; i < samples; i++) {
    const t = i / rate;
    const on = t < 0.25 || (t >= 0.35 && t < 0.6);
    const s = on ? Math.sin(2 * Math.PI * 960 * t) * 0.8 : 0;
    v.setUint8(44 + i, Math.round(128 + s * 127));
  }
  return URL.createObjectURL(new Blob([buf], { type: 'audio/wav' }));
}
