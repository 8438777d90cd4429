export default function EnvironmentView() {
  return <h1>EnvironmentView</h1>;
}
