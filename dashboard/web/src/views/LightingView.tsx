export default function LightingView() {
  return <h1>LightingView</h1>;
}
