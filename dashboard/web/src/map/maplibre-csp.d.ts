// MapLibre's CSP build: the same API as the package entry, with its worker loaded from our own origin
// (script-src 'self') instead of a blob: URL.
declare module 'maplibre-gl/dist/maplibre-gl-csp.js' {
  export * from 'maplibre-gl';
}
declare module '*?url' {
  const url: string;
  export default url;
}
