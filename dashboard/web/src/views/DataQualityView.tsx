export default function DataQualityView() {
  return <h1>DataQualityView</h1>;
}
