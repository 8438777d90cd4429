/** A table row's Edit and Remove buttons; the labels name the row for screen readers ("Edit An Phú 1"). */
export function RowActions({
  edit,
  remove,
  onEdit,
  onRemove,
}: {
  edit: { text: string; label: string };
  remove: { text: string; label: string };
  onEdit(): void;
  onRemove(): void;
}) {
  return (
    <div className="button-row">
      <button type="button" className="btn" onClick={onEdit} aria-label={edit.label}>
        {edit.text}
      </button>
      <button type="button" className="btn btn-danger" onClick={onRemove} aria-label={remove.label}>
        {remove.text}
      </button>
    </div>
  );
}
