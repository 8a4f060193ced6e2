/** An entity type partitioned for partial sync: each task belongs to one project (`partitionBy: 'project'`). */
export const PARTITIONED_TASK_V1 = Object.freeze({
  type: 'task',
  version: 1,
  onDeleteConflict: 'edit-wins',
  partitionBy: 'project',
  fields: { project: { policy: 'lww', valueType: 'string' }, label: { policy: 'lww', valueType: 'string' } },
});
