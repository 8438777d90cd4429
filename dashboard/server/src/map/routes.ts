import { fileAnswer, mapAnswerSchema } from '@tamky/protocol';
import type { RouteSpec } from '../http/route-table';
import { sendError } from '../http/errors';
import { wardScopeOf } from '../readings/ward-scope';
import { PMTILES_PATH, wardAreasIn, type MapData } from './map-data';

export function mapRoutes(map: MapData): RouteSpec[] {
  const routes: RouteSpec[] = [
    {
      method: 'get',
      path: '/map',
      access: 'viewer',
      wards: 'filter',
      token: 'read:readings',
      summary:
        'The geographic map: basemap to draw (none, city style or tiles, PMTiles served here), the ward areas (GeoJSON) and how the layers colour wards by value',
      request: {},
      answer: mapAnswerSchema,
      handler: (_req, res) => ({
        basemap: map.basemap,
        wardAreas: wardAreasIn(map.wardAreas, wardScopeOf(res)),
        ...(map.layers ? { layers: map.layers } : {}),
      }),
    },
  ];
  const file = map.pmtilesFile;
  if (file)
    routes.push({
      method: 'get',
      path: PMTILES_PATH,
      access: 'viewer',
      // Basemap tiles of the whole area: geography, no ward's data.
      wards: 'none',
      summary: 'The PMTiles basemap archive (HTTP range requests)',
      request: {},
      answer: fileAnswer,
      produces: 'application/vnd.pmtiles',
      handler: (_req, res) =>
        new Promise<void>((done) =>
          // send answers Range requests with 206 and the asked bytes; the archive changes only with a restart.
          res.sendFile(file, { acceptRanges: true, maxAge: '1h', headers: { 'Content-Type': 'application/vnd.pmtiles' } }, (err) => {
            if (err && !res.headersSent) sendError(res, 404, 'not_found', 'basemap archive unavailable');
            done();
          }),
        ),
    });
  return routes;
}
