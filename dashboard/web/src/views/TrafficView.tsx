export default function TrafficView() {
  return <h1>TrafficView</h1>;
}
