import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, mapAnswerSchema, mapLayerLevelsSchema } from '@tamky/protocol';
import { loadConfigFile, loadLimits } from '@tamky/service-kit';
import { tempDir } from '@tamky/test-support';
import { oneTilePmtiles, solidPng } from '../../web/test/pmtiles-fixture';
import { dashboardConfigSchema } from '../src/config';
import { loadMapData } from '../src/map/map-data';
import { api, loadCity, login, startHarness, type Harness } from './helpers';

const WARD_AREAS = join(import.meta.dirname, '../../../config/tam-ky/wards.geojson');
const LAYERS = join(import.meta.dirname, '../../../config/tam-ky/map-layers.yaml');

describe('GET /api/map: basemap and ward areas', () => {
  let h: Harness;
  let archive: Buffer;
  beforeAll(async () => {
    const file = join(tempDir('map-api'), 'basemap.pmtiles');
    archive = oneTilePmtiles(solidPng([0, 128, 255]));
    writeFileSync(file, archive);
    h = await startHarness({
      config: {
        map: { wardAreas: WARD_AREAS, layers: LAYERS, basemap: { type: 'pmtiles', file, maxzoom: 0 } },
        public: { show: { aqi: [] } },
      },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers the validated ward areas, one per ward of the city model, marked approximate', async () => {
    const res = await api(h.url, await login(h.url, 'viewer'), 'GET', '/api/map');
    expect(res.status).toBe(200);
    const body = mapAnswerSchema.parse(await res.json());
    expect(body.basemap).toEqual({ type: 'pmtiles', url: '/api/map/basemap.pmtiles', maxzoom: 0, attribution: '' });
    expect(body.wardAreas.features.map((f) => f.properties.ward).sort()).toEqual(h.city.wards.map((w) => w.id).sort());
    expect(body.wardAreas.features.every((f) => f.properties.approximate)).toBe(true);
    // The layers' levels as the city's file gives them (traffic: one colour per congestion level).
    expect(body.layers).toEqual(loadConfigFile(LAYERS, mapLayerLevelsSchema));
  });

  it("the residents' map points at the public copy of the PMTiles archive (no sign-in) and carries no layer levels", async () => {
    const body = await (await fetch(`${h.url}/api/public/map`)).json();
    expect(body.basemap).toEqual({ type: 'pmtiles', url: '/api/public/basemap.pmtiles', maxzoom: 0, attribution: '' });
    expect(body.layers).toBeUndefined();
    const res = await fetch(`${h.url}/api/public/basemap.pmtiles`, { headers: { range: 'bytes=0-6' } });
    expect(res.status).toBe(206);
    expect(Buffer.from(await res.arrayBuffer()).toString()).toBe('PMTiles');
  });

  it('serves the PMTiles archive with range requests, to signed-in callers only', async () => {
    expect((await fetch(`${h.url}/api/map/basemap.pmtiles`)).status).toBe(401);
    const { cookie } = await login(h.url, 'viewer');
    const res = await fetch(`${h.url}/api/map/basemap.pmtiles`, { headers: { cookie, range: 'bytes=0-126' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes 0-126/${archive.length}`);
    const header = Buffer.from(await res.arrayBuffer());
    expect(header.length).toBe(127);
    expect(header.subarray(0, 7).toString()).toBe('PMTiles');
  });
});

describe('map config', () => {
  it("puts the city tile server's origin in the CSP, and only it", async () => {
    const h = await startHarness({
      config: { map: { basemap: { type: 'tiles', tiles: ['https://tiles.tamky.example/{z}/{x}/{y}.png'] } } },
    });
    try {
      const csp = (await fetch(`${h.url}/healthz`)).headers.get('content-security-policy') ?? '';
      expect(csp).toContain("connect-src 'self' https://tiles.tamky.example;");
      expect(csp).toContain("img-src 'self' data: blob: https://tiles.tamky.example;");
      expect(csp).toContain("script-src 'self';");
      const body = await (await api(h.url, await login(h.url, 'viewer'), 'GET', '/api/map')).json();
      expect(body.wardAreas.features).toEqual([]);
    } finally {
      await h.close();
    }
  });

  it('refuses to start on ward areas naming a ward the city does not have, naming file and field', async () => {
    const file = join(tempDir('map-bad'), 'wards.geojson');
    writeFileSync(
      file,
      JSON.stringify({
        type: 'FeatureCollection',
        features: [
          {
            type: 'Feature',
            properties: { ward: 'atlantis', approximate: true },
            geometry: {
              type: 'Polygon',
              coordinates: [
                [
                  [108.4, 15.5],
                  [108.5, 15.5],
                  [108.5, 15.6],
                  [108.4, 15.5],
                ],
              ],
            },
          },
        ],
      }),
    );
    // The first thing startDashboard does with its config (before opening anything).
    const config = dashboardConfigSchema.shape.map.parse({ wardAreas: file });
    let err: unknown = null;
    try {
      loadMapData(config, loadCity(), loadLimits(join(import.meta.dirname, '../../../config/limits')));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(`${file}: features[0].properties.ward: unknown ward "atlantis"`);
  });

  it('refuses layer levels whose traffic colours do not pair one to one with the congestion levels', () => {
    const file = join(tempDir('map-layers'), 'map-layers.yaml');
    writeFileSync(file, readFileSync(LAYERS, 'utf8').replace('  - [213, 94, 0]\n# Share', '# Share'));
    const config = dashboardConfigSchema.shape.map.parse({ layers: file });
    expect(() => loadMapData(config, loadCity(), loadLimits(join(import.meta.dirname, '../../../config/limits')))).toThrow(
      /traffic: 3 colours for 4 congestion levels/,
    );
  });
});
